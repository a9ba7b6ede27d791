"""A real S3 endpoint for the S3 remote tests: moto's standalone server on 127.0.0.1.

Import the fixtures into a test module (`from tests.s3_server import s3_server, s3_bucket`).
`s3_server` starts one server per test module on a port the kernel picks, so xdist
workers never share one; `s3_bucket` gives each test its own fresh bucket and fake AWS
credentials in the environment (HOME is already isolated, so no ~/.aws is read).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

_buckets = itertools.count()


@dataclass(frozen=True)
class S3Server:
    """A running moto server."""

    endpoint: str

    def filesystem(self) -> Any:
        """A fresh s3fs filesystem on this server (for setting up and inspecting buckets)."""
        import s3fs

        return s3fs.S3FileSystem(
            key="testing",
            secret="testing",
            client_kwargs={"endpoint_url": self.endpoint},
            skip_instance_cache=True,
            use_listings_cache=False,
        )


@dataclass(frozen=True)
class S3Bucket:
    """A fresh bucket on the module's server."""

    server: S3Server
    name: str

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def object_keys(self, prefix: str = "") -> list[str]:
        """Keys under `prefix` (without the bucket name), sorted."""
        fs = self.server.filesystem()
        found = fs.find(f"{self.name}/{prefix}".rstrip("/"))
        return sorted(str(p)[len(self.name) + 1 :] for p in found)

    def read(self, key: str) -> bytes:
        return bytes(self.server.filesystem().cat_file(f"{self.name}/{key}"))

    def write(self, key: str, data: bytes) -> None:
        self.server.filesystem().pipe_file(f"{self.name}/{key}", data)


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    """One moto S3 server for the whole test module."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(f"http://{host}:{port}")
    finally:
        server.stop()
        stop_fsspec_loop()


def stop_fsspec_loop() -> None:
    """End fsspec's process-wide event loop thread (and its executor thread).

    s3fs leaves them running for the life of the process; xpt forks hashing helpers only
    when no other thread runs, so later tests in this xdist worker need them gone. The
    next S3 call simply starts a new loop.
    """
    import asyncio

    import fsspec.asyn

    loop, thread = fsspec.asyn.loop[0], fsspec.asyn.iothread[0]
    if loop is None or thread is None:
        return
    asyncio.run_coroutine_threadsafe(loop.shutdown_default_executor(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    fsspec.asyn.loop[0] = fsspec.asyn.iothread[0] = None


@pytest.fixture
def s3_bucket(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """A new empty bucket; fake credentials and region in the environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    bucket = S3Bucket(s3_server, f"xpt-test-{next(_buckets)}")
    s3_server.filesystem().mkdir(bucket.name)
    return bucket
