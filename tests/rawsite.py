"""A portal on 127.0.0.1 that misbehaves at the socket level, for the fault-budget tests.

Each path answers with a list of behaviours, one per hit (the last one repeats): a page, a status
with headers, a stall, a reset, a truncated body, a huge body, a gzip bomb. Every request is logged
with its arrival time (time.monotonic) so tests can count hits and check waits on the server side.
"""

from __future__ import annotations

import gzip
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape

from crawler.demo.site import _layout, article_page, generated_articles

Behaviour = Callable[[socket.socket, threading.Event], None]


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Behaviour:
    """A whole HTTP response."""

    def send(conn: socket.socket, stop: threading.Event) -> None:
        head = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body)), **(headers or {})}
        lines = "".join(f"{name}: {value}\r\n" for name, value in head.items())
        conn.sendall(f"HTTP/1.1 {status} Status\r\n{lines}Connection: close\r\n\r\n".encode() + body)

    return send


def stall(conn: socket.socket, stop: threading.Event) -> None:
    """Accept the request and send nothing until the server stops."""
    stop.wait(60)


def reset(conn: socket.socket, stop: threading.Event) -> None:
    """Close with a TCP RST (SO_LINGER 0) before any byte of a response."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # now: the server's own shutdown would send a FIN first


def truncated(conn: socket.socket, stop: threading.Event) -> None:
    """Content-Length promises 10 000 bytes; 100 come, then the connection closes."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 10000\r\n\r\n" + b"<p>x</p>" * 12)


def huge(size: int, declared: bool) -> Behaviour:
    """A body of `size` bytes, with its Content-Length (refused up front) or without (counted as it comes)."""

    def send(conn: socket.socket, stop: threading.Event) -> None:
        length = f"Content-Length: {size}\r\n" if declared else ""
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n{length}Connection: close\r\n\r\n".encode())
        chunk = b"<p>" + b"a" * 65_529 + b"</p>"
        try:
            for _ in range(size // len(chunk) + 1):
                if stop.is_set():
                    return
                conn.sendall(chunk)
        except OSError:
            return  # the client gave up, as it should

    return send


def gzip_bomb(decompressed: int) -> Behaviour:
    """A small gzip body (Content-Encoding: gzip) that inflates to `decompressed` bytes."""
    body = gzip.compress(b"<p>" + b"\0" * decompressed, compresslevel=9)
    return answer(200, body, {"Content-Encoding": "gzip"})


@dataclass
class Hit:
    path: str
    at: float


@dataclass
class RawSite:
    base: str
    routes: dict[str, list[Behaviour]]
    hits: list[Hit] = field(default_factory=list)

    def times(self, path: str) -> list[float]:
        return [hit.at for hit in self.hits if hit.path == path]

    def count(self, path: str) -> int:
        return len(self.times(path))


class _Handler(socketserver.BaseRequestHandler):
    site: RawSite
    stop: threading.Event

    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(30)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return
        path = data.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
        served = [hit for hit in self.site.hits if hit.path == path]
        self.site.hits.append(Hit(path, time.monotonic()))
        behaviours = self.site.routes.get(path) or [answer(404, b"<html><body>not found</body></html>")]
        behaviours[min(len(served), len(behaviours) - 1)](conn, self.stop)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a burst of connections must not see SYNs dropped (a false timeout)


@contextmanager
def serve(routes: dict[str, list[Behaviour]]) -> Iterator[RawSite]:
    """Serve `routes` on 127.0.0.1 (a free port) while the block runs."""
    stop = threading.Event()
    site = RawSite("", routes)
    server = _Server(("127.0.0.1", 0), type("Handler", (_Handler,), {"site": site, "stop": stop}))
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


ARTICLES = generated_articles(40, first_id=300000)


def article_url(name: str) -> str:
    """An article-shaped path, so the spider schedules it as an article."""
    number = sum(map(ord, name)) % 1000
    return f"/vi/tin-tuc-su-kien/-/view_content/{300000 + number}-{name}.html"


def article_html(index: int) -> bytes:
    """A real article page (the demo portal's Liferay markup) that gives a record."""
    return article_page(ARTICLES[index], "tin-tuc-su-kien", others=[]).encode("utf-8")


def home_page(paths: list[str]) -> bytes:
    """A start page linking to `paths` as news items."""
    links = "".join(f'<li><a href="{path}">{escape(ARTICLES[n]["title"])}</a></li>' for n, path in enumerate(paths))
    return _layout("Trang chủ", f'<ul class="hot-news">{links}</ul>').encode("utf-8")
