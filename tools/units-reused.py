#!/usr/bin/env python3
"""Fails when a later cargo build compiled a registry package the first build had compiled,
as a different unit: the same package with other features (or other dependencies), i.e. a
second feature set. Used by .ci/run for the README's quickstart followed by its test command.

Usage: units-reused.py FIRST.json LATER.json
Both files are cargo's `--message-format json` output. A unit is identified by its output file,
whose name carries cargo's hash of the package, features, profile and dependencies; `fresh` is not
consulted, so the check means the same on a clean and on a warm target directory. Workspace
members (`path+` package ids) are left out: their test targets are new units by design. A package
is matched by its id (name and version): another version of a package counts as a new package.
"""
import json
import sys


def artifacts(path):
    with open(path) as f:
        for line in f:
            if line.startswith("{"):
                msg = json.loads(line)
                if msg.get("reason") == "compiler-artifact":
                    yield msg


def unit(msg):
    return (msg["package_id"], tuple(msg["target"]["kind"]), msg["filenames"][0])


def registry(msg):
    return not msg["package_id"].startswith("path+")


def main(first_path, later_path):
    first = [m for m in artifacts(first_path) if registry(m)]
    later = [m for m in artifacts(later_path) if registry(m)]
    if not first:
        print(f"{first_path} lists no registry unit: not cargo's JSON output of a build?")
        return 1
    first_units = {unit(m) for m in first}
    first_packages = {m["package_id"] for m in first}
    again = sorted({unit(m) for m in later
                    if m["package_id"] in first_packages and unit(m) not in first_units})
    new_packages = {m["package_id"] for m in later} - first_packages
    print(f"registry packages: {len(first_packages)} in the first build; the later build adds "
          f"{len(new_packages)} (its own dependencies) and compiles {len(again)} of the first "
          f"build's packages again as other units")
    for package_id, kind, filename in again:
        print(f"compiled again: {package_id.split('#')[-1]} ({'/'.join(kind)}) -> {filename}")
    return 1 if again else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
