"""A misbehaving portal on 127.0.0.1 for the fault suite (tests/test_faults.py) and its benchmark.

Real articles and listings (the fixture portal of `crawler.demo.site`) surround one fault per URL:
redirects off the site, loops, endless chains, 429/503 with and without Retry-After, stalls,
connection resets, truncated and oversized bodies, a gzip bomb, empty and binary pages, a lying
charset, tag soup nested 10 000 deep, calendar and growing-path traps, hostile sitemaps and
attachments pointing at local files, FTP or another host. A fault listing links every fault URL as
if it were an article, so the crawl meets each one the way it meets a real article.

The server speaks HTTP over raw sockets (`socketserver`), so it can misbehave where an HTTP server
library would not let it: stall, reset, lie about Content-Length. It logs every request it receives
(method, path, Host header, time). The "other hosts" (another port on 127.0.0.1, and 127.0.0.2) log
every connection, whatever protocol it speaks: the crawl must never reach them.
"""

from __future__ import annotations

import functools
import socket
import socketserver
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from crawler.demo.site import BASE, CATEGORIES, Route, _layout, article_page, build_routes, generated_articles

# What the fault URLs look like: Liferay article paths under a category of their own.
FAULT_CATEGORY = "su-co"
FAULT_LISTING = f"/vi/{FAULT_CATEGORY}"
STALE_CALENDAR = "/lich-su-kien"  # every day lists the same two articles
EMPTY_CALENDAR = "/lich-trong"  # every day lists nothing
PATH_TRAP = "/bay/a/"
CALENDAR_FIRST_DAY = "2024-06-30"
ROBOTS_DISALLOWED_PREFIX = "/vi/cam/"
# A sitemap's file:// entity points here; its first line must never show up in any output.
PASSWD = Path("/etc/passwd")
# The one attachment a crawl may store: an on-site PDF.
GOOD_ATTACHMENT = "/documents/10182/55/tai-lieu-tap-huan-attt.pdf"
# The retry budget the faults' bounds on requests assume (RETRY_TIMES; 3 is the crawler's default).
RETRY_TIMES = 3
# Seconds a stalled connection is held open (far longer than any test DOWNLOAD_TIMEOUT).
STALL_SECONDS = 120.0


@dataclass(frozen=True)
class Request:
    """One request as the server read it off the socket."""

    method: str
    path: str
    host: str
    at: float


@dataclass(frozen=True)
class Fault:
    """One fault URL linked from the fault listing and what a crawl must make of it.

    `expect` is "record" or the reject reason filed against `path`; `record_path` is where the
    record's URL points when it is not `path` (a redirect chain ending at an article);
    `max_hits` bounds the requests the server may see for `path` (retries included)."""

    name: str
    path: str
    expect: str
    what: str
    title: str = ""
    record_path: str | None = None
    max_hits: int | None = None
    min_hits: int = 1


Responder = Callable[["_Handler", int], None]


@dataclass
class Sizes:
    """How big the hostile payloads are: the tests lower DOWNLOAD_MAXSIZE and scale these with it,
    the benchmark uses realistic sizes."""

    maxsize: int = 1024 * 1024  # the DOWNLOAD_MAXSIZE the crawl uses
    huge_page: int = 2 * 1024 * 1024  # > maxsize
    gzip_bomb: int = 64 * 1024 * 1024  # decompressed size, far beyond maxsize
    nesting: int = 10_000  # divs around the tag-soup article
    good_articles: int = 20


def http_response(
    status: int,
    body: bytes = b"",
    content_type: str | None = "text/html; charset=utf-8",
    headers: tuple[tuple[str, str], ...] = (),
    length: int | None = None,
    sized: bool = True,
) -> bytes:
    """Status line, headers and body as raw bytes; `length` overrides Content-Length (a lie), and
    without `sized` there is none (the body ends when the connection closes)."""
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    if sized:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@functools.cache
def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed in chunks (about 1/1000 of the size on the wire)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    parts.append(compressor.compress(bytes(size % len(chunk))))
    parts.append(compressor.flush())
    return b"".join(parts)


def _billion_laughs() -> bytes:
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{"".join(f"&lol{n - 1};" for _ in range(10))}">' for n in range(1, 10)
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE urlset [' + "".join(levels) + "]>\n"
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&lol9;</loc></url></urlset>'
    ).encode()


def _external_entities(other: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE urlset SYSTEM "{other}/khai-bao.dtd" [<!ENTITY passwd SYSTEM "file://{PASSWD}">'
        f'<!ENTITY remote SYSTEM "{other}/thuc-the"><!ENTITY % param SYSTEM "{other}/tham-so.dtd"> %param;]>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>&passwd;</loc></url><url><loc>&remote;</loc></url></urlset>"
    ).encode()


def _listing_html(title: str, items: list[tuple[str, str]], pager: list[tuple[str, str]] = ()) -> bytes:
    """A Liferay asset-publisher listing: one entry per (path, title), a pager of (path, label)."""
    entries = "".join(
        f'<div class="asset-abstract"><div class="asset-content-custom"><h3 class="asset-title">'
        f'<a href="{escape(path)}">{escape(text)}</a></h3></div></div>'
        for path, text in items
    )
    pages = "".join(f'<li><a href="{escape(path)}">{escape(label)}</a></li>' for path, label in pager)
    main = (
        f'<div class="portlet-boundary portlet-asset-publisher" id="p_p_id_101_">'
        f'<h1 class="portlet-title">{escape(title)}</h1>{entries}'
        f'<div class="taglib-page-iterator"><ul class="lfr-pagination-buttons pager">{pages}</ul></div></div>'
    )
    return _layout(title, main).encode()


def _fault_path(number: int, slug: str, category: str = FAULT_CATEGORY) -> str:
    return f"/vi/{category}/-/view_content/{900000 + number}-{slug}.html"


class FaultSite:
    """The fault portal and its other hosts; `start()` serves them, `stop()` ends every thread."""

    def __init__(self, sizes: Sizes | None = None, secret_file: Path | None = None) -> None:
        self.sizes = sizes or Sizes()
        # A local file with a unique marker, linked as file:// attachments: must never be read.
        self.secret_file = secret_file
        self.requests: list[Request] = []
        self.other_requests: list[Request] = []
        self.redirects: dict[str, str] = {}  # path → Location it answered (3xx or meta refresh)
        self._hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._servers: list[socketserver.ThreadingTCPServer] = []
        self.good = generated_articles(self.sizes.good_articles, seed=7)
        # Bodies for the good articles only a fault URL serves (distinct from the listed ones).
        self.hosted_bodies = generated_articles(12, first_id=500000, newest="2024-05-31", seed=29)
        self.base = ""
        self.other = ""
        self.other2 = ""
        self.faults: list[Fault] = []
        self._responders: dict[str, Responder] = {}
        self._hosted_numbers: set[int] = set()
        self.texts: dict[str, list[str]] = {}  # title of an article a fault URL serves → its paragraphs
        self.routes: dict[str, Route] = {}
        self.kinds: dict[str, str] = {}  # path → listing, discovery, attachment, hop

    @classmethod
    def fault_names(cls) -> list[str]:
        """The faults' names, without serving anything (for test parametrisation)."""
        site = cls(Sizes(gzip_bomb=0))
        site.base = site.other = site.other2 = "http://127.0.0.1:9"
        return [fault.name for fault in site._faults()]

    # -- serving ----------------------------------------------------------------------------

    def start(self) -> FaultSite:
        main = self._server("127.0.0.1", self._handle_main)
        other = self._server("127.0.0.1", self._handle_other)
        try:
            other2 = self._server("127.0.0.2", self._handle_other)
        except OSError:  # a system without the whole 127/8 on loopback: another port will do
            other2 = self._server("127.0.0.1", self._handle_other)
        self.base = f"http://127.0.0.1:{main.server_address[1]}"
        self.other = f"http://127.0.0.1:{other.server_address[1]}"
        self.other2 = f"http://{other2.server_address[0]}:{other2.server_address[1]}"
        self._build()
        for server in self._servers:
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def _server(self, host: str, handle: Callable[[_Handler], None]) -> socketserver.ThreadingTCPServer:
        accepted = self._accepted_elsewhere if handle == self._handle_other else None
        handler = type("Handler", (_Handler,), {"dispatch": staticmethod(handle), "accepted": staticmethod(accepted)})
        server = _Server((host, 0), handler)
        self._servers.append(server)
        return server

    def _accepted_elsewhere(self, handler: _Handler) -> None:
        """Any connection to another host counts, before it says anything (FTP waits for the server)."""
        host, port = handler.server.server_address[:2]
        with self._lock:
            self.other_requests.append(Request("CONNECT", f"{host}:{port}", "", time.monotonic()))

    def _log(self, handler: _Handler) -> int:
        """Record the request; returns how many times its path was asked for, this one included."""
        request = Request(handler.method, handler.path, handler.headers.get("host", ""), time.monotonic())
        with self._lock:
            self.requests.append(request)
            self._hits[handler.path] += 1
            return self._hits[handler.path]

    def _handle_main(self, handler: _Handler) -> None:
        hit = self._log(handler)
        path = handler.path
        responder = self._responders.get(path) or self._dynamic(path)
        if responder is not None:
            responder(handler, hit)
            return
        route = self.routes.get(path)
        if route is None:
            route = Route(404, _layout("Không tìm thấy", "<p>Không tìm thấy trang</p>").encode())
        handler.send(http_response(route.status, self._absolute(route.body), route.content_type))

    def _handle_other(self, handler: _Handler) -> None:
        """Another site: it answers like a portal would, so a crawl that got here would show it."""
        with self._lock:
            self.other_requests.append(
                Request(handler.method, handler.path, handler.headers.get("host", ""), time.monotonic())
            )
        page = _layout("Trang của máy chủ khác", "<p>Nội dung này nằm trên một máy chủ khác.</p>")
        handler.send(http_response(200, page.encode()))

    def _absolute(self, body: bytes) -> bytes:
        """Absolute URLs in robots.txt, sitemaps and feeds (plain or gzip), as the demo site does."""
        marker = BASE.encode()
        if marker in body:
            return body.replace(marker, self.base.encode())
        if body.startswith(b"\x1f\x8b"):
            inflated = zlib.decompress(body, 47)
            if marker in inflated:
                compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
                return compressor.compress(inflated.replace(marker, self.base.encode())) + compressor.flush()
        return body

    def hits(self, path: str) -> int:
        with self._lock:
            return self._hits[path]

    def paths_requested(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    # -- the site ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.routes = build_routes(self.good)
        categories = {f"/vi/{category}" for category in CATEGORIES}
        for path in self.routes:
            if path.split("?")[0] in categories:
                self.kinds[path] = "listing"
            elif path.startswith(("/sitemap", "/rss/", "/robots.txt")):
                self.kinds[path] = "discovery"
            elif path.startswith("/documents/"):
                self.kinds[path] = "attachment"
        self.faults = self._faults()
        listing = [(f.path, f"Tin {f.name}") for f in self.faults]
        self.routes[FAULT_LISTING] = Route(200, _listing_html("Sự cố", listing))
        home_links = "".join(
            f'<li><a href="{path}">{escape(text)}</a></li>'
            for path, text in [
                (FAULT_LISTING, "Sự cố"),
                (f"{STALE_CALENDAR}?ngay={CALENDAR_FIRST_DAY}", "Lịch sự kiện"),
                (f"{EMPTY_CALENDAR}?ngay={CALENDAR_FIRST_DAY}", "Lịch trống"),
                (PATH_TRAP, "Thư mục"),
                *[
                    (f"/vi/{a['category']}/-/view_content/{a['id']}-{a['slug']}.html", a["title"])
                    for a in self.good[:3]
                ],
            ]
        )
        self.routes["/"] = Route(200, _layout("Trang chủ", f'<ul class="hot-news">{home_links}</ul>').encode())
        self.kinds.update({"/": "listing", FAULT_LISTING: "listing"})
        self.routes["/robots.txt"] = Route(
            200,
            (
                f"User-agent: *\nDisallow: /private/\nDisallow: {ROBOTS_DISALLOWED_PREFIX}\n"
                f"Sitemap: {BASE}/sitemap.xml\nSitemap: {BASE}/sitemap-bom.xml\nSitemap: {BASE}/sitemap-thuc-the.xml\n"
            ).encode(),
            "text/plain",
        )
        self.routes["/sitemap-bom.xml"] = Route(200, _billion_laughs(), "application/xml")
        self.routes["/sitemap-thuc-the.xml"] = Route(200, _external_entities(self.other), "application/xml")
        self.kinds.update({"/sitemap-bom.xml": "discovery", "/sitemap-thuc-the.xml": "discovery"})

    def _hosted(self, number: int, slug: str, title: str, transform: Callable[[str], str] | None = None) -> bytes:
        """A good article only a fault URL serves: its own title and body, the portal's markup, the
        fault URL's article id (so its print view is the same article)."""
        article = dict(self.hosted_bodies[len(self._hosted_numbers) % len(self.hosted_bodies)])
        self._hosted_numbers.add(number)
        article.update(id=900000 + number, slug=slug, title=title)
        self.texts[title] = [text for _, text in article["blocks"]]
        html = article_page(article, "thong-bao", self.good)
        return (transform(html) if transform else html).encode("utf-8")

    def _faults(self) -> list[Fault]:
        sizes = self.sizes
        faults: list[Fault] = []

        def add(fault: Fault, responder: Responder) -> None:
            faults.append(fault)
            self._responders[fault.path] = responder

        def redirect(location: str) -> Responder:
            def respond(handler: _Handler, hit: int) -> None:
                self.redirects[handler.path] = location
                handler.send(http_response(302, b"", None, (("Location", location),)))

            return respond

        def fixed(
            status: int,
            body: bytes = b"",
            content_type: str | None = "text/html; charset=utf-8",
            headers: tuple[tuple[str, str], ...] = (),
        ) -> Responder:
            return lambda handler, hit: handler.send(http_response(status, body, content_type, headers))

        def then(first: list[bytes], finally_: bytes) -> Responder:
            """The n-th answer of `first` for the n-th request, then `finally_` for every later one."""
            return lambda handler, hit: handler.send(first[hit - 1] if hit <= len(first) else finally_)

        # -- redirects
        add(
            Fault(
                "redirect_other_host",
                _fault_path(1, "chuyen-sang-may-khac"),
                "offsite_redirect",
                "302 to another host (127.0.0.1, another port)",
            ),
            redirect(f"{self.other}/bai-viet"),
        )
        add(
            Fault(
                "redirect_other_address",
                _fault_path(2, "chuyen-sang-dia-chi-khac"),
                "offsite_redirect",
                "302 to another loopback address (127.0.0.2)",
            ),
            redirect(f"{self.other2}/bai-viet"),
        )
        add(
            Fault(
                "redirect_ftp",
                _fault_path(3, "chuyen-sang-ftp"),
                "offsite_redirect",
                "302 to ftp://127.0.0.1:<other>/x",
            ),
            redirect(f"ftp://127.0.0.1:{urlsplit(self.other).port}/x"),
        )
        add(
            Fault("redirect_file", _fault_path(4, "chuyen-sang-tep"), "offsite_redirect", "302 to file:///etc/passwd"),
            redirect(f"file://{PASSWD}"),
        )
        other_netloc, other2_netloc = urlsplit(self.other).netloc, urlsplit(self.other2).netloc
        add(
            Fault(
                "redirect_scheme_relative",
                _fault_path(15, "chuyen-khong-giao-thuc"),
                "offsite_redirect",
                "302 to //127.0.0.1:<other>/x (scheme-relative)",
            ),
            redirect(f"//{other_netloc}/bai-viet"),
        )
        add(
            Fault(
                "redirect_userinfo",
                _fault_path(16, "chuyen-qua-ten-nguoi-dung"),
                "offsite_redirect",
                "302 to http://<this host>@127.0.0.2:<other>/x (this host as user name)",
            ),
            redirect(f"http://{urlsplit(self.base).netloc}@{other2_netloc}/bai-viet"),
        )
        refresh = f'<meta http-equiv="refresh" content="0;url={self.other}/lam-moi">'
        refresh_page = _layout("Đang chuyển trang", "<p>Đang chuyển trang…</p>").replace("<head>", "<head>" + refresh)

        def meta_refresh(handler: _Handler, hit: int) -> None:
            self.redirects[handler.path] = f"{self.other}/lam-moi"
            handler.send(http_response(200, refresh_page.encode()))

        add(
            Fault(
                "meta_refresh_other_host",
                _fault_path(5, "lam-moi-sang-may-khac"),
                "offsite_redirect",
                "200 with <meta http-equiv=refresh> to another host",
            ),
            meta_refresh,
        )
        loop_a, loop_b = _fault_path(6, "vong-lap"), "/vong-lap/b"
        add(Fault("redirect_loop", loop_a, "redirect_loop", "302 A → B → A", max_hits=2), redirect(loop_b))
        self._responders[loop_b] = redirect(loop_a)
        self.kinds[loop_b] = "hop"
        add(
            Fault(
                "redirect_chain_too_long",
                _fault_path(7, "chuoi-chuyen-huong"),
                "too_many_redirects",
                "302 → /chuoi/1 → /chuoi/2 → … forever (more than REDIRECT_MAX_TIMES)",
            ),
            redirect("/chuoi/1"),
        )
        chain_end = _fault_path(9, "dich-den-chuoi", category="thong-bao")
        add(
            Fault(
                "redirect_chain_on_site",
                _fault_path(8, "ba-buoc-chuyen-huong"),
                "record",
                "302 → /ba-buoc/1 → /ba-buoc/2 → an article on the same site (3 hops)",
                title="Bài viết đến sau ba lần chuyển hướng",
                record_path=chain_end,
            ),
            redirect("/ba-buoc/1"),
        )
        for n, location in ((1, "/ba-buoc/2"), (2, chain_end)):
            self._responders[f"/ba-buoc/{n}"] = redirect(location)
            self.kinds[f"/ba-buoc/{n}"] = "hop"
        self._responders[chain_end] = fixed(
            200, self._hosted(9, "dich-den-chuoi", "Bài viết đến sau ba lần chuyển hướng")
        )

        # -- retries and Retry-After
        busy = http_response(503, b"", headers=(("Retry-After", "1"),))
        add(
            Fault(
                "503_retry_after_then_ok",
                _fault_path(10, "ban-roi-tra-loi"),
                "record",
                "503 with Retry-After: 1 twice, then the article",
                title="Bài viết sau hai lần máy chủ bận",
                max_hits=3,
                min_hits=3,
            ),
            then(
                [busy, busy],
                http_response(200, self._hosted(10, "ban-roi-tra-loi", "Bài viết sau hai lần máy chủ bận")),
            ),
        )
        add(
            Fault(
                "503_forever",
                _fault_path(11, "luon-ban"),
                "http_503",
                "503 on every request (no Retry-After)",
                max_hits=RETRY_TIMES + 1,
                min_hits=2,
            ),
            fixed(503),
        )
        add(
            Fault(
                "429_retry_after_then_ok",
                _fault_path(12, "qua-nhieu-yeu-cau"),
                "record",
                "429 with Retry-After: 1, then the article",
                title="Bài viết sau một lần bị giới hạn",
                max_hits=2,
                min_hits=2,
            ),
            then(
                [http_response(429, b"", headers=(("Retry-After", "1"),))],
                http_response(200, self._hosted(12, "qua-nhieu-yeu-cau", "Bài viết sau một lần bị giới hạn")),
            ),
        )
        add(
            Fault(
                "429_retry_after_too_long",
                _fault_path(13, "cho-qua-lau"),
                "retry_after_too_long",
                "429 with Retry-After: 100000",
                max_hits=1,
            ),
            fixed(429, headers=(("Retry-After", "100000"),)),
        )

        # -- broken transfers
        add(
            Fault(
                "stall",
                _fault_path(20, "treo"),
                "timeout",
                "accepts, reads the request, never answers",
                max_hits=RETRY_TIMES + 1,
            ),
            self._stall,
        )
        add(
            Fault(
                "connection_reset",
                _fault_path(21, "ngat-ket-noi"),
                "connection_reset",
                "reads the request, then resets the connection (RST)",
                max_hits=RETRY_TIMES + 1,
            ),
            self._reset,
        )
        self._truncated_body = self._hosted(22, "thieu-du-lieu", "Bài viết bị cắt cụt")
        add(
            Fault(
                "truncated",
                _fault_path(22, "thieu-du-lieu"),
                "truncated",
                "Content-Length four times the bytes sent, then closes",
                max_hits=RETRY_TIMES + 1,
            ),
            self._truncated,
        )

        # -- bodies
        add(Fault("empty_200", _fault_path(30, "trang-rong"), "empty", "200 with an empty body"), fixed(200))
        add(
            Fault("whitespace_200", _fault_path(31, "trang-khoang-trang"), "empty", "200 with whitespace only"),
            fixed(200, b" \r\n\t\n   \n"),
        )
        add(
            Fault("binary_200", _fault_path(32, "tep-nhi-phan"), "non_html", "200 application/octet-stream"),
            fixed(200, bytes(range(256)) * 16, "application/octet-stream"),
        )
        charset_title = "Thông báo kết quả tuyển dụng viên chức năm 2024 của Sở Nội vụ tỉnh Đắk Lắk"
        add(
            Fault(
                "charset_mislabelled",
                _fault_path(33, "sai-bang-ma"),
                "record",
                "header says iso-8859-1, body is UTF-8 Vietnamese",
                title=charset_title,
            ),
            fixed(200, self._hosted(33, "sai-bang-ma", charset_title), "text/html; charset=iso-8859-1"),
        )
        add(
            Fault(
                "huge_page",
                _fault_path(34, "trang-khong-lo"),
                "too_large",
                f"{sizes.huge_page // 1024 // 1024} MB page with Content-Length",
                max_hits=1,
            ),
            self._huge(sizes.huge_page, declared=True),
        )
        add(
            Fault(
                "huge_page_unannounced",
                _fault_path(35, "trang-khong-lo-khong-do-dai"),
                "too_large",
                f"{sizes.huge_page // 1024 // 1024} MB page without Content-Length (ends at close)",
                max_hits=1,
            ),
            self._huge(sizes.huge_page, declared=False),
        )
        bomb = gzip_bomb(sizes.gzip_bomb)
        add(
            Fault(
                "gzip_bomb",
                _fault_path(36, "bom-nen"),
                "too_large",
                f"Content-Encoding: gzip, {len(bomb) // 1024} KB inflating to {sizes.gzip_bomb // 1024 // 1024} MB",
                max_hits=1,
            ),
            fixed(200, bomb, headers=(("Content-Encoding", "gzip"),)),
        )
        soup_title = "Bài viết trong mã HTML lộn xộn lồng sâu"
        add(
            Fault(
                "tag_soup_deep_nesting",
                _fault_path(37, "ma-long-sau"),
                "record",
                f"unclosed tags and {sizes.nesting} nested <div>s around the article",
                title=soup_title,
            ),
            fixed(200, self._hosted(37, "ma-long-sau", soup_title, self._soup)),
        )
        add(Fault("not_found", _fault_path(38, "khong-con"), "http_404", "404"), fixed(404, b"<p>Not Found</p>"))
        add(Fault("gone", _fault_path(39, "da-go"), "http_410", "410"), fixed(410, b"<p>Gone</p>"))
        add(
            Fault(
                "robots_disallowed",
                _fault_path(40, "bi-chan", category="cam"),
                "robots_disallowed",
                f"under robots.txt Disallow: {ROBOTS_DISALLOWED_PREFIX}",
                max_hits=0,
                min_hits=0,
            ),
            fixed(200, self._hosted(40, "bi-chan", "Bài viết robots.txt cấm")),
        )

        # -- attachments that must never be fetched (with --download-attachments)
        attachments_title = "Bài viết có tệp đính kèm nguy hiểm"
        add(
            Fault(
                "hostile_attachments",
                _fault_path(50, "tep-dinh-kem"),
                "record",
                "attachments: file:// behind LinkClick.aspx, file://, ftp://, another host's http",
                title=attachments_title,
            ),
            fixed(200, self._hosted(50, "tep-dinh-kem", attachments_title, self._attachments)),
        )
        return faults

    def _attachments(self, html: str) -> str:
        """Hostile attachment links inside the article body (next to one good on-site PDF)."""
        ftp = f"ftp://127.0.0.1:{urlsplit(self.other).port}/tai-lieu.pdf"
        links = [
            (GOOD_ATTACHMENT, "tai-lieu-tap-huan-attt.pdf"),
            (f"/LinkClick.aspx?fileticket=cGFzc3dk&tabid=55&link={quote(f'file://{PASSWD}', safe='')}", "passwd.pdf"),
            (f"{self.other}/tai-lieu-may-khac.pdf", "tai-lieu-may-khac.pdf"),
            (f"/LinkClick.aspx?fileticket=bWF5&tabid=55&link={quote(f'{self.other2}/tep.pdf', safe='')}", "tep.pdf"),
            (ftp, "tai-lieu.pdf"),
        ]
        if self.secret_file is not None:
            secret = self.secret_file.resolve().as_uri()
            links += [
                (secret, "bi-mat.pdf"),
                (f"/LinkClick.aspx?fileticket=c2VjcmV0&tabid=55&link={quote(secret, safe='')}", "bi-mat.pdf"),
            ]
        anchors = "".join(f'<p><a href="{escape(href)}">{escape(text)}</a></p>' for href, text in links)
        return html.replace(
            '<p align="right" class="view-content-author">',
            anchors + '<p align="right" class="view-content-author">',
            1,
        )

    def _soup(self, html: str) -> str:
        """The article's body inside `nesting` unclosed-looking divs, with unclosed inline tags."""
        depth = self.sizes.nesting
        opening = '<div class="journal-content-article">'
        start = html.index(opening) + len(opening)
        end = html.index('<p align="right" class="view-content-author">', start)
        body = html[start:end].replace("<p>", "<p><font face='Arial'><b>", 1).replace("</p>", "</b></p>", 1)
        soup = "<div>" * depth + body + "<span><i>chú thích chưa đóng thẻ<table><tr><td>ô" + "</div>" * depth
        return html[:start] + soup + html[end:]

    def _dynamic(self, path: str) -> Responder | None:
        """Paths made up on demand: the traps, the endless redirect chain and LinkClick.aspx."""
        parts = urlsplit(path)
        if parts.path.startswith("/chuoi/"):
            step = int(parts.path.rsplit("/", 1)[1] or 0)
            self.kinds[path] = "hop"

            def endless(handler: _Handler, hit: int) -> None:
                self.redirects[handler.path] = f"/chuoi/{step + 1}"
                handler.send(http_response(302, b"", None, (("Location", f"/chuoi/{step + 1}"),)))

            return endless
        if parts.path in (STALE_CALENDAR, EMPTY_CALENDAR):
            self.kinds[path] = "listing"
            return self._calendar(parts.path, parse_qs(parts.query).get("ngay", [CALENDAR_FIRST_DAY])[0])
        if parts.path.startswith(PATH_TRAP):
            return lambda handler, hit: handler.send(http_response(200, _path_trap_page(parts.path)))
        if parts.path == "/LinkClick.aspx":
            # DotNetNuke answers LinkClick.aspx?link=<url> with a redirect to that URL, whatever it is.
            self.kinds[path] = "attachment"
            location = parse_qs(parts.query).get("link", [""])[0]

            def link_click(handler: _Handler, hit: int) -> None:
                self.redirects[handler.path] = location
                handler.send(http_response(302, b"", None, (("Location", location),)))

            return link_click
        return None

    def _calendar(self, calendar: str, day: str) -> Responder:
        from datetime import date, timedelta

        previous = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
        items = []
        if calendar == STALE_CALENDAR:
            items = [
                (f"/vi/{a['category']}/-/view_content/{a['id']}-{a['slug']}.html", a["title"]) for a in self.good[:2]
            ]
        body = _listing_html(f"Lịch ngày {day}", items, [(f"{calendar}?ngay={previous}", "Ngày trước")])
        return lambda handler, hit: handler.send(http_response(200, body))

    # -- raw-socket faults ------------------------------------------------------------------

    def _stall(self, handler: _Handler, hit: int) -> None:
        self.stopping.wait(STALL_SECONDS)

    @staticmethod
    def _reset(handler: _Handler, hit: int) -> None:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()

    def _truncated(self, handler: _Handler, hit: int) -> None:
        body = self._truncated_body
        handler.send(http_response(200, body[: len(body) // 4], length=len(body)))

    @staticmethod
    def _huge(size: int, declared: bool) -> Responder:
        chunk = b"<p>" + "Nội dung rất dài. ".encode() * 3000 + b"</p>\n"

        def respond(handler: _Handler, hit: int) -> None:
            head = http_response(200, b"", length=size, sized=declared)
            handler.send(head + "<html><head><title>Trang rất lớn</title></head><body>".encode())
            for _ in range(size // len(chunk) + 1):
                if not handler.send(chunk):
                    return

        return respond

    # -- for the tests ----------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base + path

    def fault(self, name: str) -> Fault:
        return next(f for f in self.faults if f.name == name)

    def local_path(self, location: str) -> str | None:
        """The path (with query) of a Location on this site; None for another site or scheme."""
        target = urlsplit(location)
        if target.scheme not in ("", "http") or target.netloc not in ("", urlsplit(self.base).netloc):
            return None
        return target.path + (f"?{target.query}" if target.query else "")

    def redirect_groups(self) -> list[set[str]]:
        """Paths joined by the on-site redirects the server answered (a chain with its origin)."""
        groups: list[set[str]] = []
        for source, location in list(self.redirects.items()):
            members = {source}
            target = self.local_path(location)
            if target is not None:
                members.add(target)
            joined = [group for group in groups if group & members]
            for group in joined:
                groups.remove(group)
                members |= group
            groups.append(members)
        return groups


def _path_trap_page(path: str) -> bytes:
    """A folder page linking a sub-folder of the same name, forever (/bay/a/ → /bay/a/a/ → …)."""
    main = f'<p>Thư mục {escape(path)}</p><p><a href="a/">Thư mục con</a></p>'
    return _layout("Thư mục", main).encode()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client hanging up mid-answer is what these faults are about."""


class _Handler(socketserver.StreamRequestHandler):
    """Reads the request line and headers, then lets the site write whatever raw bytes it wants."""

    dispatch: Callable[[_Handler], None]
    accepted: Callable[[_Handler], None] | None = None
    method = ""
    path = ""
    headers: dict[str, str]

    def handle(self) -> None:
        if self.accepted is not None:
            self.accepted(self)
        self.connection.settimeout(30)
        line = self.rfile.readline(65537).decode("latin-1").strip()
        if not line:
            return
        self.method, _, rest = line.partition(" ")
        self.path = rest.rsplit(" ", 1)[0] if " " in rest else rest
        self.headers = {}
        while True:
            header = self.rfile.readline(65537)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            self.headers[name.strip().lower()] = value.strip()
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.dispatch(self)

    def send(self, data: bytes) -> bool:
        """Write raw bytes; False once the client has gone."""
        try:
            self.wfile.write(data)
        except OSError:
            return False
        return True
