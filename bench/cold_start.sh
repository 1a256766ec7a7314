#!/usr/bin/env bash
# Cold start and peak memory of the Rust function versus the original Python/boto3 design, both
# deployed in one ministack (free loopback port, stopped on exit) with the same Bedrock mock.
# Usage: bench/cold_start.sh [--rounds N] [--warm N]   (results also in $BENCH_TMP/cold_start.json)
# BENCH_RUST_ZIP=<zip> measures that package instead of the release build (e.g. the fast profile's
# target/lambda/lambda-fast/x86_64/codegen-function/bootstrap.zip).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
zip="${BENCH_RUST_ZIP:-$(rust_zip)}"
start_ministack
python3 "$ROOT/bench/cold_start.py" --endpoint "$ENDPOINT" --pgid "$MINISTACK_PGID" \
  --rust-zip "$zip" --json-out "$BENCH_TMP/cold_start.json" "$@"
