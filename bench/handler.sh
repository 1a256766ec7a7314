#!/usr/bin/env bash
# Handler overhead (release build): Bedrock mocked; S3 mocked, then a real S3 client against a
# ministack on a free loopback port (stopped on exit). Repeats the run and prints every figure.
# Usage: bench/handler.sh [--repeats N] [--smoke]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
REPEATS=3 SMOKE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeats) REPEATS="$2"; shift 2 ;;
    --smoke) SMOKE=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
if [[ $SMOKE == 1 ]]; then
  # CI: debug build (its dependencies are already built by the test suite), 200 iterations, S3
  # mocked, and a loose bound that only catches gross regressions (debug is ~10x slower).
  # `cargo test --workspace` already built the example with the workspace's features; running
  # it from there avoids compiling the SDK again for the function crate alone.
  BIN="$ROOT/target/debug/examples/handler_overhead"
  [[ -x "$BIN" ]] || cargo build --quiet -p codegen-function --example handler_overhead
  "$BIN" --iterations 200 --warmup 20 --max-p99-ms 100
  exit 0
fi
cargo build --quiet --release -p codegen-function --example handler_overhead
BIN="$ROOT/target/release/examples/handler_overhead"
for i in $(seq 1 "$REPEATS"); do echo "# run $i, S3 mocked"; "$BIN" --iterations 5000 --warmup 500; done
start_ministack
for i in $(seq 1 "$REPEATS"); do echo "# run $i, local S3"; "$BIN" --iterations 1000 --warmup 100 --s3-endpoint "$ENDPOINT"; done
