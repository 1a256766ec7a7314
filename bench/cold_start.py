"""Cold start and peak memory: the Rust bootstrap versus the original Python/boto3 handler.

Run by bench/cold_start.sh against a ministack it started on a free loopback port (and stops).
Deploys both functions in the same emulator with the same Bedrock mock, then for each round
forces a cold start of each (UpdateFunctionConfiguration changes an environment variable, which
makes ministack drop the warm worker), invokes it once cold and several times warm, and reads the
worker process's VmHWM/VmRSS from /proc (ministack's REPORT line says 0 MB).

Init time = cold invocation wall time - median warm invocation wall time (client side, same run).
"""
import argparse
import base64
import io
import json
import os
import statistics
import sys
import time
import zipfile

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUCKET = "codegen-bench-cold"
ROLE = "arn:aws:iam::000000000000:role/codegen-bench"


def client(name, endpoint):
    return boto3.client(
        name,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, read_timeout=120),
    )


# A shell wrapper around the Rust bootstrap that logs the spawn time (ns), so init can be measured
# from exec to the function's own "cold start" log line (written just before its first
# /runtime/invocation/next). The wrapper's own sh + date cost (~1-2 ms) is counted as invocation,
# not init, and makes the client-side cold figure slightly worse for Rust (conservative).
WRAPPER = b"""#!/bin/sh
echo "{\\"bench_spawn_ns\\": $(date +%s%N)}" >&2
exec "$(dirname "$0")/bootstrap.bin"
"""


def rust_wrapped_zip(path):
    src = zipfile.ZipFile(path).read("bootstrap")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (("bootstrap", WRAPPER), ("bootstrap.bin", src)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def init_from_logs(kind, log_tail):
    """Init time reported by the process itself (see WRAPPER and lambda_function.py)."""
    spawn_ns = cold_ts = None
    for line in log_tail.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if "bench_init_ms" in rec:
            return float(rec["bench_init_ms"])
        if "bench_spawn_ns" in rec:
            spawn_ns = int(rec["bench_spawn_ns"])
        if rec.get("message") == "cold start" and "timestamp" in rec:
            cold_ts = rec["timestamp"]
    if spawn_ns is None or cold_ts is None:
        return None
    # tracing's RFC 3339 timestamp, e.g. 2026-11-25T17:40:01.123456Z
    from datetime import datetime
    ts = cold_ts.rstrip("Z")
    whole, frac = (ts.split(".") + ["0"])[:2]
    epoch = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=__import__("datetime").timezone.utc).timestamp()
    epoch_ns = int(epoch) * 10**9 + int((frac + "000000000")[:9])
    return (epoch_ns - spawn_ns) / 1e6


def python_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(os.path.join(ROOT, "bench", "python_original", "lambda_function.py"), "lambda_function.py")
    return buf.getvalue()


def boto3_site():
    """A directory holding only boto3 and its dependencies, as the python3.11 runtime provides."""
    import boto3 as b, botocore, s3transfer, jmespath, dateutil, urllib3, six  # noqa: F401

    site = os.path.join(os.environ.get("BENCH_TMP", "/tmp"), "runtime-site")
    os.makedirs(site, exist_ok=True)
    for mod in (b, botocore, s3transfer, jmespath, dateutil, urllib3):
        src = os.path.dirname(mod.__file__)
        dst = os.path.join(site, os.path.basename(src))
        if not os.path.exists(dst):
            os.symlink(src, dst)
    dst = os.path.join(site, "six.py")
    if not os.path.exists(dst):
        os.symlink(six.__file__, dst)
    return site


def wait_updated(lam, name):
    for _ in range(600):
        c = lam.get_function_configuration(FunctionName=name)
        if c.get("LastUpdateStatus", "Successful") == "Successful" and c.get("State", "Active") == "Active":
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not finish updating")


def worker_pids(pgid, name):
    """Processes in ministack's process group whose environment names this function."""
    wanted = f"AWS_LAMBDA_FUNCTION_NAME={name}".encode()
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = open(f"/proc/{pid}/stat").read()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if wanted in env:
            pids.append(int(pid))
    return pids


def memory_kib(pids):
    """Peak (VmHWM) and current (VmRSS) resident memory summed over the worker processes."""
    hwm = rss = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmHWM:"):
                    hwm += int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
        except OSError:
            pass
    return hwm, rss


def invoke(lam, name, event, tail=False):
    t = time.perf_counter()
    r = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail" if tail else "None")
    ms = (time.perf_counter() - t) * 1000
    payload = json.loads(r["Payload"].read() or b"null")
    if r.get("FunctionError") or not isinstance(payload, dict) or payload.get("statusCode") != 200:
        raise RuntimeError(f"{name} failed: {r.get('FunctionError')} {payload}")
    if tail:
        return ms, base64.b64decode(r.get("LogResult", "")).decode("utf-8", "replace")
    return ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--pgid", type=int, required=True)
    ap.add_argument("--rust-zip", required=True)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--warm", type=int, default=5)
    ap.add_argument("--json-out")
    a = ap.parse_args()

    lam, s3 = client("lambda", a.endpoint), client("s3", a.endpoint)
    s3.create_bucket(Bucket=BUCKET)
    event = json.load(open(os.path.join(ROOT, "tests", "fixtures", "apigw", "put-code-generation.json")))
    site = boto3_site()
    common = {"AWS_ENDPOINT_URL": a.endpoint, "AWS_REGION": "us-east-1"}
    functions = {
        "rust": dict(
            FunctionName="bench-rust",
            Runtime="provided.al2023",
            Handler="bootstrap",
            Code={"ZipFile": rust_wrapped_zip(a.rust_zip)},
            env={**common, "CODEGEN_BUCKET": BUCKET, "CODEGEN_S3_FORCE_PATH_STYLE": "true", "RUST_LOG": "info"},
        ),
        "python": dict(
            FunctionName="bench-python",
            Runtime="python3.11",
            Handler="lambda_function.lambda_handler",
            Code={"ZipFile": python_zip()},
            env={**common, "BUCKET": BUCKET, "MODEL_ID": "anthropic.claude-v2", "RUNTIME_SITE_PACKAGES": site},
        ),
    }
    for f in functions.values():
        env = f.pop("env")
        f["_env"] = env
        lam.create_function(
            FunctionName=f["FunctionName"], Runtime=f["Runtime"], Handler=f["Handler"], Role=ROLE,
            Code=f["Code"], MemorySize=512, Timeout=29, Environment={"Variables": env},
        )
        wait_updated(lam, f["FunctionName"])

    results = {k: {"cold_ms": [], "warm_ms": [], "init_ms": [], "self_init_ms": [], "hwm_cold_kib": [], "hwm_kib": [], "rss_kib": []} for k in functions}
    for rnd in range(a.rounds):
        for kind, f in functions.items():
            name = f["FunctionName"]
            lam.update_function_configuration(
                FunctionName=name, Environment={"Variables": {**f["_env"], "BENCH_ROUND": str(rnd)}})
            wait_updated(lam, name)
            time.sleep(0.3)  # let the old worker exit
            if worker_pids(a.pgid, name):
                raise RuntimeError(f"{name}: a worker survived the configuration update; the next start would not be cold")
            cold, log_tail = invoke(lam, name, event, tail=True)
            self_init = init_from_logs(kind, log_tail)
            if self_init is None:
                raise RuntimeError(f"{name}: no init timing in the cold invocation's log tail:\n{log_tail}")
            pids = worker_pids(a.pgid, name)
            hwm_cold, _ = memory_kib(pids)
            warm = [invoke(lam, name, event) for _ in range(a.warm)]
            hwm, rss = memory_kib(worker_pids(a.pgid, name))
            r = results[kind]
            r["cold_ms"].append(cold)
            r["warm_ms"].append(statistics.median(warm))
            r["init_ms"].append(cold - statistics.median(warm))
            r["self_init_ms"].append(self_init)
            r["hwm_cold_kib"].append(hwm_cold)
            r["hwm_kib"].append(hwm)
            r["rss_kib"].append(rss)
            print(f"round {rnd} {kind:6}: cold {cold:7.1f} ms, warm median {statistics.median(warm):6.1f} ms, "
                  f"init {cold - statistics.median(warm):7.1f} ms (self-reported {self_init:6.1f} ms), VmHWM {hwm / 1024:6.1f} MiB "
                  f"(after cold {hwm_cold / 1024:.1f}), worker pids {pids}", file=sys.stderr)

    med = {k: {m: statistics.median(v) for m, v in r.items()} for k, r in results.items()}
    print(f"\ncold start, {a.rounds} rounds x {a.warm} warm invocations each (medians):")
    for k in ("rust", "python"):
        m = med[k]
        print(f"  {k:6}: cold {m['cold_ms']:7.1f} ms  warm {m['warm_ms']:6.1f} ms  init {m['init_ms']:7.1f} ms  self-reported init {m['self_init_ms']:6.1f} ms  "
              f"peak RSS (VmHWM) {m['hwm_kib'] / 1024:6.1f} MiB")
    # Cold minus warm can come out negative for Rust: its whole init is smaller than the noise of
    # the emulator's own per-invocation work, and ministack's warm path is slower than its cold
    # one. A ratio of that is meaningless, so it is reported as such.
    init_ratio = (med["python"]["init_ms"] / med["rust"]["init_ms"]) if med["rust"]["init_ms"] > 1 else None
    self_ratio = med["python"]["self_init_ms"] / max(med["rust"]["self_init_ms"], 0.001)
    mem_ratio = med["python"]["hwm_kib"] / max(med["rust"]["hwm_kib"], 1)
    cold_ratio = med["python"]["cold_ms"] / max(med["rust"]["cold_ms"], 0.001)
    init_text = f"{init_ratio:.1f}x" if init_ratio is not None else "n/a (Rust's is below the emulator's noise)"
    print(f"  ratios python/rust: self-reported init {self_ratio:.1f}x (target >= 10x), cold-minus-warm init {init_text}, peak memory {mem_ratio:.1f}x "
          f"(target >= 3x), cold invocation {cold_ratio:.1f}x")
    if a.json_out:
        json.dump({"rounds": a.rounds, "warm": a.warm, "raw": results, "median": med,
                   "ratio_init": init_ratio, "ratio_self_init": self_ratio, "ratio_mem": mem_ratio, "ratio_cold": cold_ratio},
                  open(a.json_out, "w"), indent=1)


if __name__ == "__main__":
    main()
