"""Shared test helpers: where ../shared is, and skips that CI turns into failures."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))
FIXTURES = ROOT / "tests" / "fixtures"
# .ci/run sets this: a test that would skip for want of ../shared (or a service) fails instead.
STRICT = os.environ.get("CRAWLER_TESTS_STRICT") == "1"


def need_shared(*parts: str) -> Path:
    """Path inside ../shared, or skip (fail under CRAWLER_TESTS_STRICT) when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is absent: these tests read ../shared (real portal pages, seed record)"
        if STRICT:
            pytest.fail(message)
        pytest.skip(message)
    return path


def realpage_urls() -> dict[str, str]:
    """local file (e.g. 'liferay/x.html') → the page's original URL, from MANIFEST.tsv."""
    manifest = need_shared("realpages", "MANIFEST.tsv")
    with manifest.open(encoding="utf-8") as handle:
        return {row["local_file"]: row["source_url_if_known"] for row in csv.DictReader(handle, delimiter="\t")}


# A registry entry that passes every check, for tests that build small registries.
MINIMAL_PORTAL = """
[[portal]]
slug = "quang-ngai"
name = "Tỉnh Quảng Ngãi"
kind = "province"
code = "51"
domain = "quangngai.gov.vn"
platform = "unknown"
status = "active"
start_urls = ["https://quangngai.gov.vn/"]
"""


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The bundled demo portal served on 127.0.0.1 for one test module (its base URL)."""
    from crawler.demo.site import serve

    server, base = serve()
    yield base
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def database_url() -> str:
    """DATABASE_URL of a PostgreSQL that answers, or skip (fail under CRAWLER_TESTS_STRICT)."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0]
        message = f"no PostgreSQL answers at DATABASE_URL ({reason}); start it or set DATABASE_URL"
        if STRICT:
            pytest.fail(message)
        pytest.skip(message)
    return url


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`crawler ARGS…` in a subprocess, as a user runs it; its output captured, its status not checked."""
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        env=env,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (a server that is never up, or one to start)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
