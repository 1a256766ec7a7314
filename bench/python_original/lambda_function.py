"""The original Python design, reconstructed for the cold-start comparison (bench/cold_start.sh).

Parses the API Gateway body, creates boto3 clients, calls Bedrock `invoke_model` with a Claude
text-completion body and stores the reply in S3 with `put_object`. Not deployed anywhere: it
exists only so both designs can be measured in the same emulator with the same Bedrock mock.
"""
import json
import os
import sys
import time
import uuid

# On AWS the python3.11 runtime ships boto3 in /var/runtime. ministack runs this module with its
# own interpreter, which has no boto3, so the harness points RUNTIME_SITE_PACKAGES at a directory
# holding boto3 and its dependencies (not extracted from the zip, just as on AWS).
_site = os.environ.get("RUNTIME_SITE_PACKAGES")
if _site and _site not in sys.path:
    sys.path.insert(0, _site)

import boto3  # noqa: E402


def _process_started_epoch():
    """When this process was spawned (from /proc, 10 ms resolution), on the epoch clock."""
    ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
    boot_now = time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.time() - (boot_now - ticks / os.sysconf("SC_CLK_TCK"))


# Benchmark instrumentation only: how long the module took to become ready since process spawn.
print(json.dumps({"bench_init_ms": round((time.time() - _process_started_epoch()) * 1000, 1)}), file=sys.stderr)

BUCKET = os.environ["BUCKET"]
MODEL_ID = os.environ.get("MODEL_ID", "anthropic.claude-v2")


def lambda_handler(event, context):
    body = event.get("body") or "{}"
    if event.get("isBase64Encoded"):
        import base64

        body = base64.b64decode(body).decode("utf-8")
    request = json.loads(body)
    message = request["message"]
    language = request.get("key", "python")

    bedrock = boto3.client("bedrock-runtime")
    s3 = boto3.client("s3")

    prompt = (
        f"\n\nHuman: Write {language} code for the following request. "
        f"Answer with the code only.\n{message}\n\nAssistant:"
    )
    response = bedrock.invoke_model(
        modelId=MODEL_ID,
        contentType="application/json",
        accept="application/json",
        body=json.dumps(
            {
                "prompt": prompt,
                "max_tokens_to_sample": 2048,
                "temperature": 0.1,
                "top_k": 250,
                "top_p": 0.2,
            }
        ),
    )
    result = json.loads(response["body"].read())
    code = result.get("completion")
    if code is None:  # the emulator answers in the Messages shape for every Claude id
        code = "".join(c.get("text", "") for c in result.get("content", []))

    key = f"code-output/{time.strftime('%Y/%m/%d')}/{uuid.uuid4()}.txt"
    s3.put_object(Bucket=BUCKET, Key=key, Body=code.encode("utf-8"))
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"code": code, "s3": f"s3://{BUCKET}/{key}"}),
    }
