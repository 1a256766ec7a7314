#!/usr/bin/env bash
# Runs every benchmark (see BENCHMARKS.md). Each part starts and stops its own ministack on a free
# loopback port.
#   bench/run.sh           full: handler overhead, cold start vs Python, package size, deployer
#   bench/run.sh --smoke   CI, seconds: handler overhead (debug, 200 iterations) and synth timing
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--smoke" ]]; then
  bash bench/handler.sh --smoke
  bash bench/deployer.sh --smoke
  exit 0
fi
echo "## machine"; echo "nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-); $(free -m | awk '/Mem:/ {print $2 " MiB RAM"}'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## handler overhead"; bash bench/handler.sh
echo "## cold start vs Python"; bash bench/cold_start.sh
echo "## package"
z=target/lambda/x86_64/codegen-function
echo "bootstrap $(stat -c %s $z/bootstrap) bytes; bootstrap.zip $(stat -c %s $z/bootstrap.zip) bytes"
echo "## deployer"; bash bench/deployer.sh "$@"
