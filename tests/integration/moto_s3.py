"""A local S3 server that checks credentials: moto's server with IAM authentication on.

Run as ``python3 moto_s3.py``: it listens on 127.0.0.1 on a free port, creates an IAM user with
an access key allowed ``s3:*``, turns authentication on (from then on every request must be
signed with that key), prints one JSON line ``{"port", "access_key_id", "secret_access_key"}``
and serves until its stdin closes.

One correction to moto's server: it checks a SigV4 signature against the request URL as
werkzeug rebuilds it, with percent-escapes in the query decoded (``prefix=keys%2F`` becomes
``prefix=keys/``), so every signed listing with a ``/`` in its prefix — all of restic's —
would be refused (getmoto/moto#5948). The request class below gives moto the query string as
the client sent and signed it.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.request
from urllib.parse import quote

import flask

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


class RawQueryRequest(flask.Request):
    @property
    def url(self) -> str:  # type: ignore[override]
        query = self.environ.get("QUERY_STRING", "")
        path = quote(self.environ.get("PATH_INFO", ""), safe="/!$&'()*+,:;=@%~")
        return f"{self.scheme}://{self.host}{path}" + (f"?{query}" if query else "")


def main() -> None:
    flask.Flask.request_class = RawQueryRequest
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )
        iam.create_user(UserName="lares")
        policy = iam.create_policy(PolicyName="s3-all", PolicyDocument=json.dumps(POLICY))
        iam.attach_user_policy(UserName="lares", PolicyArn=policy["Policy"]["Arn"])
        key = iam.create_access_key(UserName="lares")["AccessKey"]
        request = urllib.request.Request(  # noqa: S310 - the server above, on loopback
            f"{endpoint}/moto-api/reset-auth",
            data=b"0",  # requests allowed without authentication from now on
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            answer.read()
        print(
            json.dumps(
                {
                    "port": port,
                    "access_key_id": key["AccessKeyId"],
                    "secret_access_key": key["SecretAccessKey"],
                }
            ),
            flush=True,
        )
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
