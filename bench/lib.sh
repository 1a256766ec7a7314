# Shared helpers for the benchmark scripts (sourced, not run). Starts ministack on a free loopback
# port in its own process group and stops the whole group on exit.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_TMP="${BENCH_TMP:-$(mktemp -d /tmp/codegen-bench.XXXXXX)}"
export BENCH_TMP
MINISTACK_PGID=""

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts ministack; sets ENDPOINT and MINISTACK_PGID.
start_ministack() {
  local port log
  port="$(free_port)"
  log="$BENCH_TMP/ministack-$port.log"
  mkdir -p "$BENCH_TMP/tmp-$port"
  # setsid: its own session and process group, so killing the group also stops its Lambda workers.
  BIND_HOST=127.0.0.1 GATEWAY_PORT="$port" AWS_ENDPOINT_URL="http://127.0.0.1:$port" \
    TMPDIR="$BENCH_TMP/tmp-$port" AUTH=false PATH="$ROOT/.venv/bin:$PATH" \
    setsid "$ROOT/.venv/bin/ministack" >"$log" 2>&1 < /dev/null &
  MINISTACK_PGID=$!
  ENDPOINT="http://127.0.0.1:$port"
  export ENDPOINT MINISTACK_PGID
  trap stop_ministack EXIT
  for _ in $(seq 1 300); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      echo "ministack on $ENDPOINT (pgid $MINISTACK_PGID, log $log)" >&2
      return 0
    fi
    sleep 0.1
  done
  echo "ministack did not start; see $log" >&2
  return 1
}

stop_ministack() {
  if [[ -n "$MINISTACK_PGID" ]]; then
    kill -TERM -- "-$MINISTACK_PGID" 2>/dev/null || true
    for _ in $(seq 1 30); do
      kill -0 -- "-$MINISTACK_PGID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$MINISTACK_PGID" 2>/dev/null || true
    MINISTACK_PGID=""
  fi
}

# Wall time of a command in milliseconds (prints only the number).
ms_of() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}

# Median of numbers on stdin.
median() {
  sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "nan"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'
}

# The release bootstrap zip, built with the same cargo-lambda invocation `cargo xtask deploy` uses.
rust_zip() {
  local dir="$ROOT/target/lambda/x86_64/codegen-function"
  if [[ ! -f "$dir/bootstrap.zip" || "${BENCH_REBUILD:-0}" == 1 ]]; then
    (cd "$ROOT" && PATH="$ROOT/.venv/bin:$PATH" .venv/bin/cargo-lambda lambda build --release \
      --package codegen-function --target x86_64-unknown-linux-gnu --lambda-dir target/lambda/x86_64) >&2
    (cd "$dir" && rm -f bootstrap.zip && python3 -c 'import zipfile,sys; z=zipfile.ZipFile("bootstrap.zip","w",zipfile.ZIP_DEFLATED); i=zipfile.ZipInfo("bootstrap"); i.external_attr=0o100755<<16; i.compress_type=zipfile.ZIP_DEFLATED; z.writestr(i, open("bootstrap","rb").read()); z.close()')
  fi
  echo "$dir/bootstrap.zip"
}
