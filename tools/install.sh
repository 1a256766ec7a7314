#!/usr/bin/env bash
# Installs the project's pinned Python-side tools into project-local virtual environments, from
# hash-locked files:
#   ./.venv       ministack (AWS emulator), cargo-lambda (+ zig), microburst  (tools/requirements.lock)
#   ./.venv-lint  cfn-lint, checkov, actionlint                               (tools/requirements-lint.lock)
#   ./.venv-bench awscli, for bench/deployer.sh only (not in `all`)             (tools/requirements-bench.lock)
# Every install is `pip install --require-hashes --only-binary :all:`: each package, dependencies
# included, is pinned and must match a sha256 recorded in the lock, and nothing is built from
# source (a source build would fetch its build backend without a hash check). The .txt files next
# to the locks are the human-edited inputs; `tools/install.sh lock` regenerates the locks from them
# (pip-compile --generate-hashes in a throwaway venv; run it with Python 3.11, the oldest
# interpreter the locks serve, CPython 3.11 and 3.12 on Linux x86_64).
# Idempotent: a venv whose lock file has not changed since the last install is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
# The pip-tools release that wrote the committed locks.
pip_tools_version=7.6.2
names=(requirements requirements-lint requirements-bench)

# Fails when a top-level pin of the .txt input is not in its lock: the lock is stale.
check_lock_is_current() {
  local req=$1 lock=$2 pin
  while read -r pin; do
    if ! grep -qixF "$pin \\" "$lock"; then
      echo "tools/install.sh: $lock does not pin $pin from $req; run \`bash tools/install.sh lock\`" >&2
      exit 1
    fi
  done < <(sed -e 's/[[:space:]]*#.*//' -e '/^[[:space:]]*$/d' "$req")
}

install_venv() {
  local dir=$1 name=$2
  local req="tools/$name.txt" lock="tools/$name.lock"
  check_lock_is_current "$req" "$lock"
  local stamp
  stamp="$dir/.installed-$(sha256sum "$lock" | cut -c1-16)"
  if [ -f "$stamp" ]; then
    return 0
  fi
  echo "tools/install.sh: installing $lock into $dir" >&2
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check \
    --require-hashes --only-binary :all: -r "$lock"
  rm -f "$dir"/.installed-*
  touch "$stamp"
}

lock() {
  local tmp name
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand $tmp now: it is local to this function
  trap "rm -rf '$tmp'" EXIT
  "$python" -m venv "$tmp/venv"
  "$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "pip-tools==$pip_tools_version"
  for name in "${names[@]}"; do
    echo "tools/install.sh: locking tools/$name.txt into tools/$name.lock" >&2
    # Existing pins in the lock are kept unless the input needs a change; delete the lock first
    # to re-resolve every dependency to its newest allowed version.
    CUSTOM_COMPILE_COMMAND="bash tools/install.sh lock" "$tmp/venv/bin/pip-compile" --quiet \
      --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
      --output-file "tools/$name.lock" "tools/$name.txt"
  done
}

case "${1:-all}" in
  runtime) install_venv .venv requirements ;;
  lint) install_venv .venv-lint requirements-lint ;;
  bench) install_venv .venv-bench requirements-bench ;;
  all)
    install_venv .venv requirements
    install_venv .venv-lint requirements-lint
    ;;
  lock) lock ;;
  *) echo "usage: tools/install.sh [runtime|lint|bench|all|lock]" >&2; exit 2 ;;
esac
