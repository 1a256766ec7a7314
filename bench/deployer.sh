#!/usr/bin/env bash
# Deployer benchmarks: synth; against one ministack (free loopback port, stopped on exit): first
# deploy and no-op deploy with `aws cloudformation deploy` and with `cargo xtask deploy`, the no-op
# whole command (cargo-lambda no-op build included) and its parts, code-only change via change set
# versus --hotswap; optionally (--incremental) an incremental release build after a label change.
# Usage: bench/deployer.sh [--runs N] [--incremental] [--smoke]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RUNS=5 INCREMENTAL=0 SMOKE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --incremental) INCREMENTAL=1; shift ;;
    --smoke) SMOKE=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
unset CODEGEN_BUILD_LABEL
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
[[ "${BENCH_SKIP_XTASK_BUILD:-0}" == 1 && -x target/debug/xtask ]] || cargo build --quiet -p xtask
XT="$ROOT/target/debug/xtask"
line() { printf '%-58s %s\n' "$1" "$2"; }

# --- synth: whole process (wall) and in-process (the command's own "(N ms)") -------------------
walls=() inproc=()
for _ in $(seq 1 $(( SMOKE ? 5 : 20 ))); do
  t0=$(date +%s%N); out="$("$XT" synth --stage dev)"; t1=$(date +%s%N)
  walls+=($(( (t1 - t0) / 1000 ))); inproc+=("$(sed -n 's/.*(\([0-9]*\) ms).*/\1/p;s/.* in \([0-9]*\) ms$/\1/p' <<<"$out")")
done
line "synth --stage dev, wall (median of ${#walls[@]})" "$(printf '%s\n' "${walls[@]}" | median | awk '{printf "%.1f ms", $1/1000}')"
synth_ms="$(printf '%s\n' "${inproc[@]}" | median)"
line "synth --stage dev, in-process (median)" "$synth_ms ms"
# A tripwire for an order-of-magnitude regression, moved here from a wall-clock assert in the
# template tests (a timing belongs to the benchmarks, not to `cargo test`). The command's own figure
# covers loading the stage, synthesis, rendering and writing the file: 24 ms on an idle 2-core
# machine, 56 ms with two other builds running (2026-12-08); the budget leaves room for a busy CI.
if (( ${synth_ms%.*} >= 250 )); then
  echo "synth --stage dev: median $synth_ms ms in-process, over the 250 ms budget" >&2
  exit 1
fi
[[ $SMOKE == 1 ]] && exit 0

zip="$(rust_zip)"
bash tools/install.sh bench
start_ministack
AWS=("$ROOT/.venv-bench/bin/aws" --endpoint-url "$ENDPOINT" --region us-east-1)
XTD=("$XT" deploy --stage local --yes --endpoint "$ENDPOINT")

# Distinct packages for code-only changes without recompiling: the same binary with bytes appended
# after the ELF image (ignored by the loader), zipped like the deployer does.
variant() {
  python3 - "$zip" "$BENCH_TMP/variant-$1.zip" "$1" <<'PY'
import sys, zipfile
src, dst, tag = sys.argv[1:]
data = zipfile.ZipFile(src).read("bootstrap") + f"\nbench-variant-{tag}\n".encode()
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
    i = zipfile.ZipInfo("bootstrap"); i.external_attr = 0o100755 << 16; i.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(i, data)
PY
  echo "$BENCH_TMP/variant-$1.zip"
}

# --- aws cloudformation deploy of the same template (stack codegen-local, then deleted) ---------
"$XT" synth --stage local --format json --stdout > "$BENCH_TMP/local.template.json"
"${AWS[@]}" s3 mb s3://cli-bench-assets >/dev/null
key="codegen-function/$(sha256sum "$zip" | cut -c1-64).zip"
"${AWS[@]}" s3 cp "$zip" "s3://cli-bench-assets/$key" >/dev/null
CFN=("${AWS[@]}" cloudformation deploy --stack-name codegen-local --template-file "$BENCH_TMP/local.template.json"
     --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM --no-fail-on-empty-changeset
     --parameter-overrides CodeS3Bucket=cli-bench-assets "CodeS3Key=$key" Architecture=x86_64)
line "aws cloudformation deploy: first (create)" "$(ms_of "${CFN[@]}") ms"
noop=(); for _ in $(seq 1 "$RUNS"); do noop+=("$(ms_of "${CFN[@]}")"); done
line "aws cloudformation deploy: no-op (median of $RUNS)" "$(printf '%s\n' "${noop[@]}" | median) ms"
"${AWS[@]}" cloudformation delete-stack --stack-name codegen-local
"${AWS[@]}" cloudformation wait stack-delete-complete --stack-name codegen-local

# --- cargo xtask deploy ---------------------------------------------------------------------------
t0=$(date +%s%N); "${XTD[@]}" --package "$zip" --json > "$BENCH_TMP/first.json" 2>"$BENCH_TMP/first.log"; t1=$(date +%s%N)
line "xtask deploy --package: first (create), whole command" "$(( (t1 - t0) / 1000000 )) ms  timings_ms $(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["timings_ms"]))' "$BENCH_TMP/first.json")"
noop=(); for _ in $(seq 1 "$RUNS"); do noop+=("$(ms_of "${XTD[@]}" --package "$zip")"); done
line "xtask deploy --package: no-op (median of $RUNS)" "$(printf '%s\n' "${noop[@]}" | median) ms"
noop=(); for _ in $(seq 1 "$RUNS"); do noop+=("$(ms_of "${XTD[@]}")"); done
line "xtask deploy (builds): no-op whole command (median)" "$(printf '%s\n' "${noop[@]}" | median) ms"
"${XTD[@]}" --json 2>/dev/null | python3 -c 'import json,sys; print("    timings_ms of one no-op run:", json.dumps(json.load(sys.stdin)["timings_ms"]))'
cl=(); for _ in $(seq 1 "$RUNS"); do cl+=("$(ms_of env PATH="$ROOT/.venv/bin:$PATH" .venv/bin/cargo-lambda lambda build --release --package codegen-function --target x86_64-unknown-linux-gnu --lambda-dir target/lambda/x86_64)"); done
line "  of which cargo lambda build --release, no-op (median)" "$(printf '%s\n' "${cl[@]}" | median) ms"
cr=(); for _ in $(seq 1 "$RUNS"); do cr+=("$(ms_of cargo run --quiet -p xtask -- --version)"); done
line "  cargo run -p xtask (the alias's own cost), no-op" "$(printf '%s\n' "${cr[@]}" | median) ms"

# --- code-only change: change set versus hotswap, alternating ------------------------------------
cs=() hs=()
for i in $(seq 1 "$RUNS"); do
  v="$(variant "cs$i")"; cs+=("$(ms_of "${XTD[@]}" --package "$v")")
  v="$(variant "hs$i")"; hs+=("$(ms_of "${XTD[@]}" --package "$v" --hotswap)")
done
csm="$(printf '%s\n' "${cs[@]}" | median)"; hsm="$(printf '%s\n' "${hs[@]}" | median)"
line "code-only change, change set (median of $RUNS)" "$csm ms  (${cs[*]})"
line "code-only change, --hotswap (median of $RUNS)" "$hsm ms  (${hs[*]})"
line "  ratio change set / hotswap" "$(awk -v a="$csm" -v b="$hsm" 'BEGIN {printf "%.1fx", a/b}')"

# --- incremental release build after a label change (relinks with fat LTO: minutes) -------------
if [[ $INCREMENTAL == 1 ]]; then
  t=$(ms_of env CODEGEN_BUILD_LABEL="bench-$$" PATH="$ROOT/.venv/bin:$PATH" .venv/bin/cargo-lambda lambda build --release --package codegen-function --target x86_64-unknown-linux-gnu --lambda-dir "$BENCH_TMP/lambda-incr")
  line "incremental cargo lambda build --release (label change)" "$t ms"
fi
