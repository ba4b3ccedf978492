"""Runs AWS SDK calls for the end-to-end tests with boto3, unchanged but
for the endpoint variables: one JSON request a line on stdin, one JSON
answer a line on stdout."""

import base64
import json
import sys

import boto3
import botocore
from botocore import UNSIGNED
from botocore.config import Config


def client(service, auth):
    kwargs = {}
    if auth == "unsigned":
        kwargs["config"] = Config(signature_version=UNSIGNED)
    elif auth == "other":
        kwargs.update(aws_access_key_id="AKIDOTHERCALLER00000",
                      aws_secret_access_key="other-secret",
                      aws_session_token="other-token")
    return boto3.client(service, **kwargs)


def plain(value):
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def main():
    for line in sys.stdin:
        call = json.loads(line)
        c = client(call["service"], call.get("auth", ""))
        params = call.get("params", {})
        if "SecretBinary" in params:
            params["SecretBinary"] = base64.b64decode(params["SecretBinary"])
        try:
            out = getattr(c, botocore.xform_name(call["op"]))(**params)
            answer = {"ok": plain(out)}
        except botocore.exceptions.ClientError as e:
            answer = {"error": e.response["Error"]["Code"], "class": type(e).__name__,
                      "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
