#!/usr/bin/env bash
# The inner loop (BENCHMARKS.md, "Inner loop"): `cargo xtask watch --stage local` against a
# ministack on a free loopback port. Each cycle changes one line of crates/function/src/prompt.rs
# (the system prompt) and measures, from the moment the file is written, until a signed request
# through the HTTP API is answered by the new prompt (ministack's Bedrock mock answers with a hash
# of the prompt it was sent, so the generated "code" changes exactly when the new binary serves).
# Then a README edit, which must trigger no build and no swap. prompt.rs and README.md are
# restored, and watch and ministack stopped, on exit.
# Needs target/debug/xtask (cargo build --workspace --locked --bins).
# Usage: bench/inner_loop.sh [--cycles N] [--build-profile fast|release]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
CYCLES=5 PROFILE=fast
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cycles) CYCLES="$2"; shift 2 ;;
    --build-profile) PROFILE="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
XTASK="$ROOT/target/debug/xtask"
[[ -x "$XTASK" ]] || { echo "build it first: cargo build --workspace --locked --bins" >&2; exit 2; }
PROMPT=crates/function/src/prompt.rs
cp "$PROMPT" "$BENCH_TMP/prompt.rs.orig"
cp README.md "$BENCH_TMP/README.md.orig"
WATCH_PID=""
cleanup() {
  if [[ -n "$WATCH_PID" ]]; then kill -INT "$WATCH_PID" 2>/dev/null || true; wait "$WATCH_PID" 2>/dev/null || true; fi
  cp "$BENCH_TMP/prompt.rs.orig" "$PROMPT"
  cp "$BENCH_TMP/README.md.orig" README.md
  stop_ministack
}
start_ministack
trap cleanup EXIT

"$XTASK" watch --stage local --yes --endpoint "$ENDPOINT" --build-profile "$PROFILE" \
  >"$BENCH_TMP/watch.out" 2>"$BENCH_TMP/watch.err" &
WATCH_PID=$!
for _ in $(seq 1 3000); do grep -q '^watching' "$BENCH_TMP/watch.out" && break; sleep 0.2; done
grep -q '^watching' "$BENCH_TMP/watch.out" || { cat "$BENCH_TMP/watch.err" >&2; exit 1; }
head -n 2 "$BENCH_TMP/watch.out"

code() {
  "$XTASK" invoke --stage local --endpoint "$ENDPOINT" -m "binary search" -l python --json 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin).get("code",""))' 2>/dev/null || true
}
before="$(code)"
[[ -n "$before" ]] || { echo "the deployed function does not answer" >&2; exit 1; }
e2e=()
for i in $(seq 1 "$CYCLES"); do
  python3 - "$BENCH_TMP/prompt.rs.orig" "$PROMPT" "$i" <<'PY'
import sys
text = open(sys.argv[1]).read()
marker = "You are an expert {display} programmer"
assert marker in text
open(sys.argv[2], "w").write(text.replace(marker, f"{marker} (revision {sys.argv[3]})", 1))
PY
  t0=$(date +%s%N)
  while :; do
    now="$(code)"
    if [[ -n "$now" && "$now" != "$before" ]]; then break; fi
    if (( ($(date +%s%N) - t0) / 1000000000 > 300 )); then echo "cycle $i: not served within 300 s" >&2; exit 1; fi
    # Each probe is a whole `xtask invoke` process; back-to-back probes would take a core from
    # the build being measured. The figure is late by at most this pause plus one probe.
    sleep 0.3
  done
  t1=$(date +%s%N)
  before="$now"
  ms=$(( (t1 - t0) / 1000000 ))
  e2e+=("$ms")
  sleep 1  # let the watch print its line
  echo "cycle $i: save -> first request served by the new prompt: $ms ms"
  echo "  watch: $(grep 'prompt.rs changed' "$BENCH_TMP/watch.out" | tail -n 1)"
done
echo "median save -> served over $CYCLES cycles: $(printf '%s\n' "${e2e[@]}" | median) ms"
builds="$(grep -o 'built in [0-9.]* s' "$BENCH_TMP/watch.out" | awk '{print $3}' | tail -n "$CYCLES")"
swaps="$(grep 'prompt.rs changed' "$BENCH_TMP/watch.out" | grep -o 'in [0-9.]* s (' | awk '{print $2}' | tail -n "$CYCLES")"
waits="$(grep 'prompt.rs changed' "$BENCH_TMP/watch.out" | grep -o '[0-9.]* s of it waiting' | awk '{print $1}' | tail -n "$CYCLES")"
echo "median build $(echo "$builds" | median) s; median swap $(echo "$swaps" | median) s, of which waiting for the update $(echo "$waits" | median) s"

# A README edit: seen, and nothing built or swapped.
cycles_before=$(grep -c 'changed: built\|changed: build up to date' "$BENCH_TMP/watch.out" || true)
echo "edited by bench/inner_loop.sh" >> README.md
sleep 3
cycles_after=$(grep -c 'changed: built\|changed: build up to date' "$BENCH_TMP/watch.out" || true)
grep 'README.md changed' "$BENCH_TMP/watch.out" | tail -n 1
if [[ "$cycles_after" != "$cycles_before" ]]; then echo "a README edit triggered a cycle" >&2; exit 1; fi
echo "README edit: no build, no swap"

# Ctrl-C: watch exits and leaves no cargo-lambda behind.
t0=$(date +%s%N); kill -INT "$WATCH_PID"; wait "$WATCH_PID" || true; WATCH_PID=""
echo "watch stopped in $(( ($(date +%s%N) - t0) / 1000000 )) ms; cargo-lambda processes left: $(pgrep -fc "$ROOT/.venv/bin/cargo-lambda" || true)"
