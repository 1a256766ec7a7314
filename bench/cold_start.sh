#!/usr/bin/env bash
# Cold start and peak memory of the Rust function versus the original Python/boto3 design, both
# deployed in one ministack (free loopback port, stopped on exit) with the same Bedrock mock.
# Usage: bench/cold_start.sh [--rounds N] [--warm N]   (results also in $BENCH_TMP/cold_start.json)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
zip="$(rust_zip)"
start_ministack
python3 "$ROOT/bench/cold_start.py" --endpoint "$ENDPOINT" --pgid "$MINISTACK_PGID" \
  --rust-zip "$zip" --json-out "$BENCH_TMP/cold_start.json" "$@"
