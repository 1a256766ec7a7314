#!/usr/bin/env bash
# Installs the project's pinned Python-side tools into project-local virtual environments:
#   ./.venv       ministack (AWS emulator), cargo-lambda (+ zig), microburst  (tools/requirements.txt)
#   ./.venv-lint  cfn-lint, checkov, actionlint                               (tools/requirements-lint.txt)
#   ./.venv-bench awscli, for bench/deployer.sh only (not in `all`)             (tools/requirements-bench.txt)
# Idempotent: a venv whose requirements file has not changed since the last install is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"

install_venv() {
  local dir=$1 req=$2
  local stamp="$dir/.installed-$(sha256sum "$req" | cut -c1-16)"
  if [ -f "$stamp" ]; then
    return 0
  fi
  echo "tools/install.sh: installing $req into $dir" >&2
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  rm -f "$dir"/.installed-*
  touch "$stamp"
}

case "${1:-all}" in
  runtime) install_venv .venv tools/requirements.txt ;;
  lint) install_venv .venv-lint tools/requirements-lint.txt ;;
  bench) install_venv .venv-bench tools/requirements-bench.txt ;;
  all)
    install_venv .venv tools/requirements.txt
    install_venv .venv-lint tools/requirements-lint.txt
    ;;
  *) echo "usage: tools/install.sh [runtime|lint|bench|all]" >&2; exit 2 ;;
esac
