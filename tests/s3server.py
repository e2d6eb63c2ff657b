"""A real S3-compatible server for tests: moto in server mode, in its own process."""

import socket
import subprocess
import sys
import time
import uuid

import boto3
from botocore.config import Config

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """`python -m moto.server` on a free loopback port, with one bucket created by boto3."""

    def __init__(self, log_path):
        self.log_path = log_path
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.bucket = f"valify-test-{uuid.uuid4().hex[:8]}"
        self.proc: subprocess.Popen | None = None

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
        )

    def start(self, timeout: float = 20) -> "MotoServer":
        """Start the server and create the bucket; raise RuntimeError saying why if it cannot."""
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        error: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited: {self._log_tail()}")
            try:
                self.client().create_bucket(Bucket=self.bucket)
                return self
            except Exception as exc:  # not listening yet
                error = exc
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"moto server did not answer in {timeout:.0f} s ({error})")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def settings_env(self) -> dict[str, str]:
        """The environment a deployment would set to use this server."""
        return {
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_S3_REGION_NAME": REGION,
        }

    def keys(self, prefix: str = "") -> list[str]:
        pages = (
            self.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=prefix)
        )
        return [item["Key"] for page in pages for item in page.get("Contents", ())]

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as log:
                return log.read()[-2000:].decode(errors="replace")
        except OSError:
            return ""
