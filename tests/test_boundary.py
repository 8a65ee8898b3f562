"""The crawl boundary (crawler.boundary): which sites a crawl may touch, the downloader middleware
that checks every request against it, and end-to-end crawls where a portal tries to lead the
crawler elsewhere (another server on 127.0.0.1 that counts its hits)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from twisted.internet.error import DNSLookupError
from twisted.python.failure import Failure

from crawler.boundary import Boundary, BoundaryMiddleware, BoundaryRefusal, alias_site, is_private_address
from crawler.demo.site import Route, serve
from crawler.items import Attachment, safe_filename
from crawler.platforms.page import site_host
from crawler.spiders.portal import failure_kind
from crawler.urls import ascii_host, site_key

PUNY = "xn--h-ni-0na4517b.vn"  # hà-nội.vn

# -- identity of a site --------------------------------------------------------------------------


def test_internationalised_hosts_compare_in_their_ascii_form() -> None:
    assert ascii_host("Hà-Nội.VN") == PUNY
    assert ascii_host(PUNY.upper()) == PUNY
    assert site_key("http://www.hà-nội.vn:8080/x") == f"{PUNY}:8080"
    assert site_key(f"https://{PUNY}/") == PUNY
    assert site_host("https://WWW.Hà-Nội.vn/tin") == PUNY
    assert ascii_host("foo_bar.gov.vn.") == "foo_bar.gov.vn"  # no valid IDNA label, still a host


def test_unicode_and_punycode_links_are_on_site_both_ways() -> None:
    from_puny = Boundary([f"http://{PUNY}/"])
    assert from_puny.link_kind("http://hà-nội.vn/x") is None
    assert from_puny.link_kind("https://www.HÀ-NỘI.vn/y") is None
    from_unicode = Boundary(["http://hà-nội.vn/"])
    assert from_unicode.link_kind(f"http://{PUNY}/x") is None
    assert from_unicode.link_kind("http://hà-tĩnh.vn/x") == "offsite"


def test_www_scheme_and_port_variants() -> None:
    boundary = Boundary(["https://www.portal.gov.vn/"])
    assert boundary.allows("http://portal.gov.vn/a")
    assert boundary.allows("https://portal.gov.vn:443/a")
    assert boundary.allows("http://WWW.PORTAL.GOV.VN:80/a")
    assert boundary.link_kind("http://portal.gov.vn:8080/a") == "offsite"
    assert boundary.link_kind("http://sub.portal.gov.vn/a") == "offsite"
    assert boundary.link_kind("http://portal.gov.vn.evil.example/a") == "offsite"
    local = Boundary(["http://127.0.0.1:8000/"])
    assert local.allows("http://127.0.0.1:8000/x")
    assert local.link_kind("http://127.0.0.1:8001/x") == "offsite"
    assert local.link_kind("http://127.0.0.1/x") == "offsite"


def test_ipv6_sites_keep_their_brackets() -> None:
    boundary = Boundary(["http://[2001:db8::1]:8080/"])
    assert site_key("http://[2001:DB8::1]:8080/x") == "[2001:db8::1]:8080"
    assert boundary.allows("http://[2001:db8::1]:8080/tin")
    assert boundary.link_kind("http://[2001:db8::1:8080]/x") == "offsite"  # another host, not the port
    assert boundary.link_kind("http://[2001:db8::1]/x") == "offsite"
    assert Boundary(["http://[2001:db8::1]/"]).allows("http://[2001:db8::1]:80/x")
    assert alias_site("2001:db8::2") == alias_site("[2001:db8::2]") == "[2001:db8::2]"
    assert alias_site("[2001:db8::2]:8080") == "[2001:db8::2]:8080"
    boundary.add_host("[2001:db8::2]")
    boundary.add_host("portal.gov.vn:8080")
    # Scrapy compares allowed_domains with a URL's hostname: no port, no brackets.
    assert boundary.domains() == ["2001:db8::1", "2001:db8::2", "portal.gov.vn"]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("mailto:vanthu@portal.gov.vn", "mailto"),
        ("MailTo:vanthu@portal.gov.vn", "mailto"),
        ("javascript:__doPostBack('a','')", "javascript"),
        ("tel:+842693861234", "tel"),
        ("ftp://portal.gov.vn/van-ban.pdf", "other_scheme"),
        ("file:///etc/passwd", "other_scheme"),
        ("data:text/html,hi", "other_scheme"),
        ("http://portal.gov.vn:cong/x", "bad_url"),
        ("http:///x", "bad_url"),
        ("/relative/path", "bad_url"),
        ("https://other.gov.vn/", "offsite"),
        ("https://portal.gov.vn/tin?id=1", None),
    ],
)
def test_link_kinds(url: str, kind: str | None) -> None:
    assert Boundary(["https://portal.gov.vn/"]).link_kind(url) == kind


def test_registry_aliases_and_extra_hosts_join_the_boundary() -> None:
    from crawler.registry import RegistryError, parse_registry

    from .conftest import MINIMAL_PORTAL

    entry = parse_registry(MINIMAL_PORTAL + 'aliases = ["quangngai.vn", "cu.quangngai.gov.vn:8080"]\n').get(
        "quang-ngai"
    )
    assert entry is not None and entry.aliases == ("quangngai.vn", "cu.quangngai.gov.vn:8080")
    boundary = Boundary(entry.start_urls, (entry.domain, *entry.aliases))
    assert boundary.allows("http://www.quangngai.vn/tin")
    assert boundary.allows("http://cu.quangngai.gov.vn:8080/x")
    assert boundary.link_kind("http://cu.quangngai.gov.vn/x") == "offsite"
    with pytest.raises(RegistryError, match="aliases must be a list of host names"):
        parse_registry(MINIMAL_PORTAL + 'aliases = ["https://quangngai.vn/"]\n')


def test_spider_exposes_the_boundary(tmp_path: Path) -> None:
    from scrapy.crawler import Crawler

    from crawler.spiders.portal import PortalSpider

    crawler = Crawler(
        PortalSpider, {"STATE_PATH": str(tmp_path / "s.sqlite"), "BOUNDARY_EXTRA_HOSTS": ["tai-lieu.portal.gov.vn"]}
    )
    spider = PortalSpider.from_crawler(crawler, url="http://hà-nội.vn/tin")
    try:
        assert spider.boundary.allows(f"https://www.{PUNY}/x")
        assert spider.boundary.allows("https://tai-lieu.portal.gov.vn/a.pdf")
        assert spider.state_portal == spider.portal_name == PUNY
        assert set(spider.allowed_domains) == {PUNY, "tai-lieu.portal.gov.vn"}
    finally:
        spider.crawl_state.close()


def test_record_portal_is_the_state_portal_name() -> None:
    from crawler.platforms import parse_page

    html = (
        "<html><body><h1>Bài viết về chuyển đổi số trong cơ quan nhà nước</h1><div class='post-date'>01/03/2024</div>"
        + "<div class='content'>"
        + "<p>Các cơ quan triển khai nền tảng số dùng chung trên địa bàn tỉnh.</p>" * 6
        + "</div></body></html>"
    )
    page = parse_page(html, "http://www.hà-nội.vn/tin/bai-1.html")
    assert page.record is not None and page.record.portal == PUNY == site_key("http://hà-nội.vn/")


# -- private addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("192.168.1.1", True),
        ("172.16.0.1", True),
        ("169.254.169.254", True),  # cloud metadata
        ("100.100.100.200", True),  # shared address space (another cloud's metadata)
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("240.0.0.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("fd00::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:169.254.169.254", True),
        ("93.184.216.34", False),
        ("2606:2800:220:1:248:1893:25c8:1946", False),
        ("::ffff:93.184.216.34", False),
    ],
)
def test_private_addresses(address: str, private: bool) -> None:
    assert is_private_address(address) is private


class FakeDNS:
    """Resolution the tests control; counts the look-ups per host."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: dict[str, int] = {}

    async def __call__(self, host: str) -> list[str]:
        self.calls[host] = self.calls.get(host, 0) + 1
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


def middleware(start_urls: list[str], dns: FakeDNS, aliases: tuple[str, ...] = ()) -> BoundaryMiddleware:
    crawler = get_crawler()
    crawler.spider = SimpleNamespace(boundary=Boundary(start_urls, aliases))  # type: ignore[assignment]
    mw = BoundaryMiddleware(crawler.stats, resolve=dns)
    mw.crawler = crawler
    crawler.stats.open_spider()
    return mw


def check(mw: BoundaryMiddleware, url: str, **meta: Any) -> str | None:
    """The refusal reason for one request (None: allowed)."""
    try:
        asyncio.run(mw.process_request(Request(url, meta=meta, dont_filter=True)))
    except BoundaryRefusal as refusal:
        return refusal.reason
    return None


PUBLIC = {
    "portal.gov.vn": ["93.184.216.34"],
    "www.portal.gov.vn": ["10.0.0.7"],
    "cdn.portal.gov.vn": ["::ffff:10.9.9.9"],
}


def test_private_guard_refuses_private_hosts_of_a_public_crawl() -> None:
    dns = FakeDNS(PUBLIC)
    mw = middleware(["https://portal.gov.vn/"], dns, aliases=("cdn.portal.gov.vn", "169.254.169.254"))
    assert check(mw, "https://portal.gov.vn/tin") is None
    assert check(mw, "https://www.portal.gov.vn/tin") == "private_address"  # on-site name, private address
    assert check(mw, "https://cdn.portal.gov.vn/a.pdf") == "private_address"  # IPv4-mapped IPv6
    assert check(mw, "http://169.254.169.254/latest/meta-data/") == "private_address"  # a literal: no look-up
    hop = {"redirect_urls": ["https://portal.gov.vn/a"]}
    assert check(mw, "https://www.portal.gov.vn/a", **hop) == "private_address"
    assert check(mw, "https://portal.gov.vn/tin2") is None
    assert dns.calls == {"portal.gov.vn": 1, "www.portal.gov.vn": 1, "cdn.portal.gov.vn": 1}  # once per host
    assert mw.stats.get_value("boundary/private_address") == 4


def test_private_guard_is_off_when_the_crawl_starts_on_a_private_host() -> None:
    for start, table in (
        ("http://127.0.0.1:8000/", {}),
        ("http://localhost:8000/", {}),
        ("http://mirror.lan/", {"mirror.lan": ["192.168.1.20"]}),
    ):
        dns = FakeDNS({**table, "intranet.lan": ["10.0.0.2"]})
        mw = middleware([start], dns, aliases=("intranet.lan",))
        assert check(mw, "http://intranet.lan/x") is None
        assert "intranet.lan" not in dns.calls  # no look-up needed once the guard is off


def test_unresolvable_host_fails_as_dns_and_is_looked_up_again() -> None:
    """A failed look-up is not remembered (a retry, a later request asks again); a success is."""
    dns = FakeDNS({"portal.gov.vn": ["93.184.216.34"]})
    mw = middleware(["https://portal.gov.vn/"], dns, aliases=("old.portal.gov.vn",))
    for _ in range(2):
        with pytest.raises(DNSLookupError):
            check(mw, "https://old.portal.gov.vn/x")
    assert dns.calls["old.portal.gov.vn"] == 2
    assert mw.stats.get_value("boundary/dns_failed") == 2
    dns.table["old.portal.gov.vn"] = ["93.184.216.35"]  # the resolver answers again
    assert check(mw, "https://old.portal.gov.vn/x") is None
    assert check(mw, "https://old.portal.gov.vn/y") is None
    assert dns.calls["old.portal.gov.vn"] == 3
    failure = Failure(DNSLookupError("old.portal.gov.vn: not known"))
    assert failure_kind(failure) == "dns"


def test_requests_waiting_on_one_failed_look_up_share_it() -> None:
    dns = FakeDNS({"portal.gov.vn": ["93.184.216.34"]})
    mw = middleware(["https://portal.gov.vn/"], dns, aliases=("old.portal.gov.vn",))

    async def three_at_once() -> list[Any]:
        requests = [Request(f"https://old.portal.gov.vn/{n}") for n in range(3)]
        return await asyncio.gather(*(mw.process_request(r) for r in requests), return_exceptions=True)

    assert all(isinstance(result, DNSLookupError) for result in asyncio.run(three_at_once()))
    assert dns.calls["old.portal.gov.vn"] == 1


@pytest.fixture
def dnscache() -> Iterator[Any]:
    """Scrapy's process-wide DNS cache, as it was before the test once the test ends."""
    from scrapy.resolver import dnscache

    before = dict(dnscache)
    try:
        yield dnscache
    finally:
        dnscache.clear()
        dnscache.update(before)


@pytest.fixture
def https_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """An https proxy in the environment (no http one, no no_proxy)."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:3128")


def test_requests_through_a_proxy_are_not_looked_up(
    https_proxy: None, dnscache: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind a proxy the local resolver may resolve nothing: the proxy resolves, and guards."""
    dns = FakeDNS(PUBLIC)
    crawler = get_crawler(settings_dict={"HTTPPROXY_ENABLED": True})
    boundary = Boundary(["https://portal.gov.vn/"], ("10.0.0.9",))
    crawler.spider = SimpleNamespace(boundary=boundary)  # type: ignore[assignment]
    crawler.stats.open_spider()
    mw = BoundaryMiddleware.from_crawler(crawler)
    mw.resolve = dns
    with caplog.at_level("INFO", logger="crawler.boundary"):
        assert check(mw, "https://portal.gov.vn/tin") is None
        assert check(mw, "https://www.portal.gov.vn/tin") is None  # the proxy resolves it, not us
        assert check(mw, "http://www.portal.gov.vn/x", proxy="http://127.0.0.1:3128") is None
        assert check(mw, "https://10.0.0.9/x") == "private_address"  # written as a private IP: no look-up needed
    assert dns.calls == {}
    assert sum("relies on the proxy" in r.getMessage() for r in caplog.records) == 1
    # Not proxied: http has no proxy here, and meta proxy=None turns it off; both are looked up.
    assert check(mw, "http://www.portal.gov.vn/x") == "private_address"
    assert check(mw, "https://www.portal.gov.vn/y", proxy=None) == "private_address"
    assert dns.calls == {"portal.gov.vn": 1, "www.portal.gov.vn": 1}
    # Without HTTPPROXY_ENABLED Scrapy sends nothing through the environment's proxy: looked up.
    plain = BoundaryMiddleware.from_crawler(get_crawler(settings_dict={"HTTPPROXY_ENABLED": False}))
    assert plain.proxy_schemes == frozenset()


def test_the_dns_pin_is_filed_under_the_name_scrapy_resolves(dnscache: Any) -> None:
    v6 = "2606:2800:220:1:248:1893:25c8:1946"
    table = {"portal.gov.vn.": ["93.184.216.34"], "v6.portal.gov.vn": [v6], "both.portal.gov.vn": [v6, "93.184.216.36"]}
    dns = FakeDNS(table)
    aliases = ("v6.portal.gov.vn", "both.portal.gov.vn", "[2606:4700::1]")
    mw = middleware(["https://portal.gov.vn./"], dns, aliases=aliases)
    mw.pin = True
    for url in ("https://portal.gov.vn./tin", "https://v6.portal.gov.vn/a", "https://both.portal.gov.vn/b"):
        assert check(mw, url) is None
    assert check(mw, "https://[2606:4700::1]/c") is None
    assert dnscache["portal.gov.vn."] == "93.184.216.34"  # the trailing dot kept, as Scrapy asks
    assert "portal.gov.vn" not in dnscache
    assert dnscache["v6.portal.gov.vn"] == v6  # IPv6 only: Twisted connects to the literal over IPv6
    assert dnscache["both.portal.gov.vn"] == "93.184.216.36"  # IPv4 first, as Scrapy's own look-up
    assert dnscache["2606:4700::1"] == "2606:4700::1"  # a literal Scrapy's IPv4 look-up cannot resolve
    assert dns.calls == {"portal.gov.vn.": 1, "v6.portal.gov.vn": 1, "both.portal.gov.vn": 1}


def test_every_request_is_checked_even_dont_filter_ones() -> None:
    mw = middleware(["http://127.0.0.1:8000/"], FakeDNS({}))
    assert check(mw, "http://127.0.0.1:9000/robots.txt") == "offsite"
    assert check(mw, "ftp://127.0.0.1:8000/a.pdf") == "offsite"
    assert check(mw, "file:///etc/passwd") == "offsite"
    mw.request_scheduled(Request("http://127.0.0.1:9000/x"), None)  # never refuses (no errback there)


def test_redirect_hops() -> None:
    mw = middleware(["http://127.0.0.1:8000/"], FakeDNS({}))
    asked = "http://127.0.0.1:8000/tin/a"
    with pytest.raises(BoundaryRefusal) as refused:
        asyncio.run(mw.process_request(Request("http://127.0.0.1:9000/b", meta={"redirect_urls": [asked]})))
    assert refused.value.reason == "offsite_redirect"
    assert refused.value.asked_url == asked
    assert f"{asked} -> http://127.0.0.1:9000/b" in str(refused.value)
    assert check(mw, "http://127.0.0.1:8000/tin/b", redirect_urls=[asked]) is None
    loop = ["http://127.0.0.1:8000/tin/a", "http://127.0.0.1:8000/tin/b"]
    assert check(mw, "http://127.0.0.1:8000/tin/a#dau", redirect_urls=loop) == "redirect_loop"
    assert check(mw, "http://127.0.0.1:8000/tin/a?b=2&a=1", redirect_urls=[f"{asked}?a=1&b=2"]) == "redirect_loop"
    # A start URL stays on its site too (http → https and www are the same site).
    assert check(mw, "http://127.0.0.1:9000/", redirect_urls=["http://127.0.0.1:8000/"], role="start") == (
        "offsite_redirect"
    )
    assert check(mw, "ftp://127.0.0.1:9000/", redirect_urls=["http://127.0.0.1:8000/"], role="start") == (
        "offsite_redirect"
    )


@pytest.mark.parametrize(
    ("asked", "target"),
    [
        ("/TinTuc.aspx", "/(S(abc123xyz))/TinTuc.aspx"),  # ASP.NET cookieless session
        ("/tin", "/tin;jsessionid=ABCDEF"),  # Java servlet session
        ("/tin", "/tin?sid=42"),
        ("/tin?utm_source=zalo", "/tin"),  # a portal dropping a tracking parameter
        ("/tin", "/tin?utm_source=zalo"),
    ],
)
def test_a_redirect_setting_up_a_session_is_no_loop(asked: str, target: str) -> None:
    """The loop check compares exact URLs: session ids and tracking parameters are kept."""
    mw = middleware(["http://127.0.0.1:8000/"], FakeDNS({}))
    base = "http://127.0.0.1:8000"
    assert check(mw, f"{base}{target}", redirect_urls=[f"{base}{asked}"], role="start") is None
    assert check(mw, f"{base}{asked}", redirect_urls=[f"{base}{asked}", f"{base}{target}"]) == "redirect_loop"
    # http → https is an upgrade, not a loop.
    assert check(mw, f"https://127.0.0.1:8000{asked}", redirect_urls=[f"{base}{asked}"]) is None


@pytest.mark.parametrize(
    ("location", "refused"),
    [
        ("ftp://127.0.0.1:9000/x", True),
        ("file:///etc/passwd", True),
        ("javascript:alert(1)", True),
        ("http://127.0.0.1:9000/x", True),
        ("/elsewhere", False),
    ],
)
def test_unfollowed_3xx_with_a_location_off_the_boundary(location: str, refused: bool) -> None:
    mw = middleware(["http://127.0.0.1:8000/"], FakeDNS({}))
    request = Request("http://127.0.0.1:8000/tin/a")
    response = HtmlResponse(request.url, status=302, headers={"Location": location}, request=request)
    if refused:
        with pytest.raises(BoundaryRefusal, match="offsite_redirect"):
            mw.process_response(request, response)
    else:
        assert mw.process_response(request, response) is response


def test_failure_kinds_of_the_boundary() -> None:
    from scrapy.exceptions import IgnoreRequest

    assert failure_kind(Failure(BoundaryRefusal("redirect_loop", ["a", "b", "a"]))) == "redirect_loop"
    assert failure_kind(Failure(BoundaryRefusal("offsite_redirect", ["http://x/robots.txt", "y"]))) == (
        "offsite_redirect"
    )
    assert failure_kind(Failure(IgnoreRequest("max redirections reached"))) == "too_many_redirects"


def test_attachments_only_fetched_on_the_boundary_over_http(tmp_path: Path) -> None:
    from crawler.files import AttachmentFiles
    from crawler.items import ParserInfo, PortalRecord

    crawler = get_crawler(settings_dict={"FILES_STORE": str(tmp_path / "files"), "DOWNLOAD_ATTACHMENTS": True})
    crawler.spider = SimpleNamespace(boundary=Boundary(["http://127.0.0.1:8000/"]))  # type: ignore[assignment]
    crawler.stats.open_spider()
    pipeline = AttachmentFiles.from_crawler(crawler)
    urls = [
        "http://127.0.0.1:8000/tep/a.pdf",
        "http://127.0.0.1:9000/tep/b.pdf",
        "ftp://127.0.0.1:8000/c.pdf",
        "file:///etc/passwd",
        "data:application/pdf;base64,AAAA",
    ]
    record = PortalRecord(
        url="http://127.0.0.1:8000/tin",
        canonical_url=None,
        portal="p",
        platform="generic",
        parser=ParserInfo(name="generic", version="1"),
        title="Tin",
    )
    record.attachments = [Attachment(url=u, filename="x.pdf") for u in urls]
    requests = pipeline.get_media_requests(record, None)
    assert [r.url for r in requests] == [urls[0]]
    assert crawler.stats.get_value("files/offsite_skipped") == 1
    assert crawler.stats.get_value("files/not_http_skipped") == 3
    pipeline.item_completed([], record, None)
    assert crawler.stats.get_value("files/failed") == 1  # only the one requested counts as failed
    assert all(a.stored_path is None for a in record.attachments)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_attachment_names_are_never_paths() -> None:
    assert safe_filename("../../etc/passwd") == ".._.._etc_passwd"
    assert safe_filename("..") == "file"
    assert safe_filename("a\x00b\r\n.pdf") == "ab.pdf"
    assert safe_filename("Số 12/2024/QĐ-UBND.pdf") == "Số 12_2024_QĐ-UBND.pdf"
    long = safe_filename("x" * 500 + ".docx")
    assert len(long) == 200 and long.endswith(".docx")
    assert Attachment(url="http://a/b", filename="..\\..\\boot.ini").filename == ".._.._boot.ini"


def test_dotnetnuke_linkclick_never_yields_a_file_url() -> None:
    from crawler.platforms.base import attachments_from_links

    found = attachments_from_links(
        [
            ("file:///etc/passwd?LinkClick.aspx&fileticket=abc", "passwd.pdf"),
            ("/LinkClick.aspx?fileticket=xyz&tabid=1", "Quyết định 12/QĐ.pdf"),
        ],
        "http://portal.gov.vn/tin",
    )
    assert [(a.url, a.filename) for a in found] == [
        ("http://portal.gov.vn/LinkClick.aspx?fileticket=xyz&tabid=1", "Quyết định 12_QĐ.pdf")
    ]


def test_page_reports_links_it_does_not_follow() -> None:
    from crawler.platforms import parse_page

    html = (
        "<html><body><a href='/tin/a'>a</a><a href='mailto:x@portal.gov.vn'>thư</a><a href='tel:0269'>gọi</a>"
        "<a href='javascript:void(0)'>js</a><a href='#top'>lên</a><a href='https://other.vn/'>khác</a>"
        "<a href='ftp://portal.gov.vn/f'>ftp</a></body></html>"
    )
    page = parse_page(html, "http://portal.gov.vn/")
    boundary = Boundary(["http://portal.gov.vn/"])
    assert sorted(boundary.link_kind(u) or "" for u in page.unfollowed) == [
        "javascript",
        "mailto",
        "offsite",
        "other_scheme",
        "tel",
    ]


# -- end to end ----------------------------------------------------------------------------------


@pytest.fixture
def other_server() -> Iterator[tuple[Any, str]]:
    """Another site on 127.0.0.1 (another port) that serves everything and records every hit."""
    article = _article("Bài của máy chủ khác, không được ghi dưới trang của cổng")
    routes = {
        path: Route(200, body)
        for path, body in {
            "/": article,
            "/robots.txt": b"User-agent: *\n",
            "/tin/bai-1.html": article,
            "/dich": article,
            "/sitemap.xml": b"<urlset/>",
            "/TinTuc.aspx": article,
            "/tep/ngoai.pdf": b"%PDF-1.4 other",
        }.items()
    }
    server, base = serve(routes)
    try:
        yield server, base
    finally:
        server.shutdown()
        server.server_close()


def _article(title: str, extra: str = "") -> bytes:
    return (
        f"<html><body><h1>{title}</h1><div class='post-date'>05/03/2024 08:00</div><div class='content'>"
        + "".join(f"<p>Đoạn {k}: các cơ quan triển khai nền tảng số dùng chung trong tỉnh.</p>" for k in range(4))
        + extra
        + "</div></body></html>"
    ).encode()


def _crawl(url: str, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    args = ("--delay", "0", *args)
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl", url, "--out", str(out), "--state", f"{out}.sqlite", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_crawl_never_leaves_the_boundary(other_server: tuple[Any, str], tmp_path: Path) -> None:
    other, elsewhere = other_server
    attachments = (
        "<p><a href='/tep/van-ban.pdf'>Văn bản</a> <a href='ftp://127.0.0.1/tep/ftp.pdf'>FTP</a> "
        f"<a href='{elsewhere}/tep/ngoai.pdf'>Ngoài</a> "
        "<a href='file:///etc/passwd?x=LinkClick.aspx&amp;fileticket=abc'>passwd.pdf</a></p>"
    )
    home_links = [
        "/tin/bai-1.html",
        "/tin/chuyen-huong",
        "/tin/ftp",
        "/tin/file",
        "/tin/lam-moi",
        "/tin/vong-1",
        "/tin/xa-1",
        "mailto:vanthu@127.0.0.1",
        "tel:+842693861234",
        "javascript:void(0)",
        f"{elsewhere}/ngoai",
    ]
    home = "".join(f'<a href="{href}">liên kết {n}</a> ' for n, href in enumerate(home_links))
    redirect = lambda to: Route(302, b"", headers=(("Location", to),))  # noqa: E731
    routes = {
        "/": Route(200, f"<html><body><ul><li>{home}</li></ul></body></html>".encode()),
        "/robots.txt": Route(
            200,
            f"User-agent: *\nSitemap: {elsewhere}/sitemap.xml\nSitemap: @@BASE@@/sitemap.xml\n".encode(),
            "text/plain",
        ),
        "/sitemap.xml": Route(
            200,
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{elsewhere}/tin/bai-1.html</loc>'
            "</url><url><loc>@@BASE@@/tin/bai-1.html</loc></url></urlset>".encode(),
            "application/xml",
        ),
        "/tin/bai-1.html": Route(200, _article("Bài viết thật của cổng về chuyển đổi số", attachments)),
        "/tep/van-ban.pdf": Route(200, b"%PDF-1.4 ours", "application/pdf"),
        "/tin/chuyen-huong": redirect(f"{elsewhere}/tin/bai-1.html"),
        "/tin/ftp": redirect("ftp://127.0.0.1/tep/x.pdf"),
        "/tin/file": redirect("file:///etc/passwd"),
        "/tin/lam-moi": Route(
            200, f'<html><head><meta http-equiv="refresh" content="0; url={elsewhere}/dich"></head></html>'.encode()
        ),
        "/tin/vong-1": redirect("/tin/vong-2"),
        "/tin/vong-2": redirect("/tin/vong-1"),
        **{f"/tin/xa-{n}": redirect(f"/tin/xa-{n + 1}") for n in range(1, 6)},
    }
    server, base = serve(routes)
    out = tmp_path / "run"
    try:
        result = _crawl(f"{base}/", out, "--download-attachments", "-s", "REDIRECT_MAX_TIMES=3")
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert other.RequestHandlerClass.served == []  # not one request, robots.txt included
    records = _lines(out / "records.jsonl")
    assert [r["url"] for r in records] == [f"{base}/tin/bai-1.html"]
    (record,) = records
    assert record["portal"] == base.removeprefix("http://")
    files = {a["url"]: a for a in record["attachments"]}
    assert set(files) == {f"{base}/tep/van-ban.pdf", f"{elsewhere}/tep/ngoai.pdf"}
    assert files[f"{base}/tep/van-ban.pdf"]["stored_path"]
    assert files[f"{elsewhere}/tep/ngoai.pdf"]["stored_path"] is None
    rejects = {r["url"]: r for r in _lines(out / "rejects.jsonl")}
    for path in ("/tin/chuyen-huong", "/tin/ftp", "/tin/file", "/tin/lam-moi"):
        assert rejects[f"{base}{path}"]["reason"] == "offsite_redirect", path
    assert f"{base}/tin/chuyen-huong -> {elsewhere}/tin/bai-1.html" in rejects[f"{base}/tin/chuyen-huong"]["detail"]
    assert "file:///etc/passwd" in rejects[f"{base}/tin/file"]["detail"]
    assert rejects[f"{base}/tin/vong-1"]["reason"] == "redirect_loop"
    assert rejects[f"{base}/tin/xa-1"]["reason"] == "too_many_redirects"
    assert not any(url.startswith(elsewhere) for url in rejects)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["errors_by_kind"]["offsite_redirect"] == 4
    not_followed = manifest["links_not_followed"]
    assert {"mailto", "tel", "javascript", "offsite"} <= set(not_followed)
    assert not_followed["offsite"] >= 2  # the home page's link and the sitemap's
    assert manifest["discovery"]["offsite_skipped"] == 1  # robots.txt's off-site sitemap
    assert manifest["files"]["offsite_skipped"] == 1
    assert manifest["files"]["stored"] == 1


def test_postback_to_another_host_is_not_posted(other_server: tuple[Any, str], tmp_path: Path) -> None:
    other, elsewhere = other_server
    pager = "".join(f"<a href=\"javascript:__doPostBack('ctl21$pager','{p}')\">{p}</a> " for p in (1, 2))
    items = "".join(f'<li><a href="/NewsDetail.aspx?id={n}">Tin số {n} về cải cách hành chính</a></li>' for n in (1, 2))
    listing = (
        f'<html><body><form method="post" action="{elsewhere}/TinTuc.aspx" id="form1">'
        '<input type="hidden" name="__EVENTTARGET" value="" /><input type="hidden" name="__EVENTARGUMENT" value="" />'
        f'<input type="hidden" name="__VIEWSTATE" value="bi-mat" /><ul>{items}</ul><div class="pager">{pager}</div>'
        "</form></body></html>"
    ).encode()
    server, base = serve({"/TinTuc.aspx": Route(200, listing), "/robots.txt": Route(200, b"", "text/plain")})
    out = tmp_path / "form"
    try:
        result = _crawl(f"{base}/TinTuc.aspx", out)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert other.RequestHandlerClass.served == []
    rejects = [r for r in _lines(out / "rejects.jsonl") if r["reason"] == "offsite_form"]
    assert [r["url"] for r in rejects] == [f"{base}/TinTuc.aspx"]
    assert f"{elsewhere}/TinTuc.aspx" in rejects[0]["detail"]
    assert "POST" not in " ".join(server.RequestHandlerClass.served)


def test_a_start_url_redirecting_to_another_site_is_refused(other_server: tuple[Any, str], tmp_path: Path) -> None:
    """A portal that moved to another host is crawled by its new URL or with the host as an alias:
    its redirect is not a licence to crawl wherever it points."""
    other, elsewhere = other_server
    server, base = serve({"/tin": Route(301, b"", headers=(("Location", f"{elsewhere}/tin/bai-1.html"),))})
    out = tmp_path / "moved"
    try:
        result = _crawl(f"{base}/tin", out)
        allowed = _crawl(f"{base}/tin", tmp_path / "alias", "-s", f"BOUNDARY_EXTRA_HOSTS={urlsplit(elsewhere).netloc}")
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("\n") == 1 and "redirects to another site" in result.stderr
    rejects = _lines(out / "rejects.jsonl")
    assert [(r["url"], r["reason"]) for r in rejects] == [(f"{base}/tin", "offsite_redirect")]
    assert f"{elsewhere}/tin/bai-1.html" in rejects[0]["detail"]
    assert _lines(out / "records.jsonl") == []
    # Allowed as an extra host, the same redirect is followed and the other host's robots.txt obeyed.
    assert allowed.returncode == 0, allowed.stderr
    assert [r["url"] for r in _lines(tmp_path / "alias" / "records.jsonl")] == [f"{elsewhere}/tin/bai-1.html"]
    assert other.RequestHandlerClass.served == ["/robots.txt", "/tin/bai-1.html"]


def test_a_start_url_setting_up_a_session_by_redirect_is_crawled(tmp_path: Path) -> None:
    """ASP.NET cookieless sessions move the start page under /(S(…))/: a session, not a loop."""
    server, base = serve(
        {
            "/TinTuc.aspx": Route(302, b"", headers=(("Location", "/(S(abc123xyz))/TinTuc.aspx"),)),
            "/(S(abc123xyz))/TinTuc.aspx": Route(200, _article("Tin tức của cổng trong phiên làm việc")),
        }
    )
    out = tmp_path / "session"
    try:
        result = _crawl(f"{base}/TinTuc.aspx", out)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert not [r for r in _lines(out / "rejects.jsonl") if r["reason"] == "redirect_loop"]
    assert [r["title"] for r in _lines(out / "records.jsonl")] == ["Tin tức của cổng trong phiên làm việc"]


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class _Pages(BaseHTTPRequestHandler):
    pages: dict[str, bytes] = {}

    def do_GET(self) -> None:
        body = self.pages.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def ipv6_portal() -> Iterator[int]:
    """A home page and one article on [::1] (IPv6 loopback); yields the port."""
    pages = {
        "/": b'<html><body><ul><li><a href="/tin/bai-1.html">Bai 1</a></li></ul></body></html>',
        "/tin/bai-1.html": _article("Bài viết trên máy chủ IPv6 của cổng"),
    }
    try:
        server = _IPv6Server(("::1", 0), type("Pages", (_Pages,), {"pages": pages}))
    except OSError as error:
        pytest.skip(f"IPv6 loopback (::1) is not available on this machine: {error}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_crawl_of_an_ipv6_literal(ipv6_portal: int, tmp_path: Path) -> None:
    base = f"http://[::1]:{ipv6_portal}"
    out = tmp_path / "v6"
    result = _crawl(f"{base}/", out)
    assert result.returncode == 0, result.stderr
    records = _lines(out / "records.jsonl")
    assert [(r["url"], r["portal"]) for r in records] == [(f"{base}/tin/bai-1.html", f"[::1]:{ipv6_portal}")]


# `crawler crawl` with a resolver that knows one name, with only an IPv6 address (no /etc/hosts edit).
_IPV6_ONLY_DNS = """
import sys

import crawler.boundary


async def resolve(host):
    if host == "v6only.test":
        return ["::1"]
    raise OSError(f"{host}: not known")


crawler.boundary.resolve_host = resolve
from crawler.cli import main

sys.exit(main(sys.argv[1:]))
"""


def test_a_host_with_only_an_ipv6_address_is_pinned_and_reached(ipv6_portal: int, tmp_path: Path) -> None:
    """Scrapy's default resolver looks up IPv4 only; the guard's pinned IPv6 address is reached."""
    out = tmp_path / "v6only"
    url = f"http://v6only.test:{ipv6_portal}/"
    command = ["crawl", url, "--out", str(out), "--state", f"{out}.sqlite", "--delay", "0"]
    result = subprocess.run(
        [sys.executable, "-c", _IPV6_ONLY_DNS, *command], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert [r["url"] for r in _lines(out / "records.jsonl")] == [f"http://v6only.test:{ipv6_portal}/tin/bai-1.html"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_extract_follows_redirects_only_on_the_same_site(other_server: tuple[Any, str]) -> None:
    other, elsewhere = other_server
    server, base = serve(
        {
            "/tin/cu": Route(302, b"", headers=(("Location", f"{elsewhere}/tin/bai-1.html"),)),
            "/tin/ftp": Route(302, b"", headers=(("Location", "file:///etc/passwd"),)),
            "/tin/moi": Route(301, b"", headers=(("Location", "/tin/bai.html"),)),
            "/tin/bai.html": Route(200, _article("Bài viết thật của cổng về chuyển đổi số")),
            "/tin/vong": Route(302, b"", headers=(("Location", "/tin/vong"),)),
        }
    )
    try:
        refused = _cli("extract", f"{base}/tin/cu")
        not_http = _cli("detect", f"{base}/tin/ftp")
        loop = _cli("extract", f"{base}/tin/vong")
        moved = _cli("extract", f"{base}/tin/moi")
    finally:
        server.shutdown()
        server.server_close()
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        f"crawler: {base}/tin/cu redirects to {elsewhere}/tin/bai-1.html (another host); not followed"
    ]
    assert refused.stdout == ""
    assert not_http.returncode != 0 and "file:///etc/passwd (not http or https); not followed" in not_http.stderr
    assert loop.returncode != 0 and "redirects in a loop" in loop.stderr
    assert len(not_http.stderr.strip().splitlines()) == len(loop.stderr.strip().splitlines()) == 1
    assert other.RequestHandlerClass.served == []
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["url"] == f"{base}/tin/bai.html"


def test_extract_reads_awkward_redirects() -> None:
    """Spaces in a Location, a session id set up by redirect, a fragment: followed as a browser would."""
    server, base = serve(
        {
            "/tin/cach": Route(302, b"", headers=(("Location", "/tin tuc/bai a#doan-2"),)),
            "/tin%20tuc/bai%20a": Route(200, _article("Bài viết có dấu cách trong địa chỉ")),
            "/tin/phien": Route(302, b"", headers=(("Location", "/tin/phien;jsessionid=ABCDEF"),)),
            "/tin/phien;jsessionid=ABCDEF": Route(200, _article("Bài viết trong phiên làm việc của cổng")),
            "/tin/cong": Route(302, b"", headers=(("Location", "http://127.0.0.1:99999/tin"),)),
        }
    )
    try:
        spaces = _cli("extract", f"{base}/tin/cach")
        session = _cli("detect", f"{base}/tin/phien")
        bad_port = _cli("extract", f"{base}/tin/cong")
    finally:
        server.shutdown()
        server.server_close()
    assert spaces.returncode == 0, spaces.stderr
    assert json.loads(spaces.stdout)["url"] == f"{base}/tin%20tuc/bai%20a"  # no fragment
    assert session.returncode == 0, session.stderr
    assert bad_port.returncode != 0
    assert bad_port.stderr.strip().splitlines() == [
        f"crawler: {base}/tin/cong redirects to http://127.0.0.1:99999/tin "
        "(not a valid URL: Port out of range 0-65535); not followed"
    ]


def test_extract_says_in_one_line_when_a_server_answers_no_http() -> None:
    from .rawsite import answer, stall
    from .rawsite import serve as serve_raw

    def bad_status_line(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 BANANA\r\n\r\n")

    routes = {"/hong": [bad_status_line], "/cham": [stall], "/tin": [answer(302, headers={"Location": "/hong"})]}
    with serve_raw(routes) as site:
        garbled = _cli("extract", f"{site.base}/tin")
        started = time.monotonic()
        slow = _cli("detect", f"{site.base}/cham", "--timeout", "0.5")
        waited = time.monotonic() - started
    assert garbled.returncode != 0
    assert garbled.stderr.strip().splitlines() == [
        f"crawler: could not read {site.base}/hong (BadStatusLine: HTTP/1.1 BANANA)"
    ]
    assert slow.returncode != 0 and waited < 30
    assert slow.stderr.strip().splitlines() == [
        f"crawler: could not reach {site.base}/cham (timed out); check the URL and network"
    ]


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "soon"])
def test_extract_timeout_must_be_a_finite_positive_number(value: str) -> None:
    result = _cli("extract", "http://127.0.0.1:9/", "--timeout", value)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"argument --timeout: '{value}'" in result.stderr  # the value is refused, not the option unknown


def test_a_page_off_the_boundary_never_gives_a_record(tmp_path: Path) -> None:
    """Should a hop get past the middleware, the spider still files the page as an off-site redirect
    against the URL asked for, and yields nothing (no record enters the state under its identity)."""
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import MemoryStatsCollector

    from crawler.runs import page_rejected
    from crawler.spiders.portal import PortalSpider

    crawler = Crawler(PortalSpider, {"STATE_PATH": str(tmp_path / "s.sqlite")})
    spider = PortalSpider.from_crawler(crawler, url="http://127.0.0.1:8000/")
    crawler.stats = MemoryStatsCollector(crawler)
    rejected: list[tuple[str, str, str]] = []

    def on_rejected(url: str, kind: str, reason: str) -> None:  # held here: signals keep weak references
        rejected.append((url, kind, reason))

    crawler.signals.connect(on_rejected, signal=page_rejected)
    asked, landed = "http://127.0.0.1:8000/tin/bai-1.html", "http://127.0.0.1:9000/tin/bai-1.html"
    request = Request(landed, meta={"role": "article", "redirect_urls": [asked], "key": "127.0.0.1:8000/tin/bai-1"})
    response = HtmlResponse(landed, body=_article("Bài của máy chủ khác"), encoding="utf-8", request=request)
    try:
        assert list(spider.parse(response)) == []
    finally:
        spider.crawl_state.close()
    assert rejected == [(asked, "offsite_redirect", f"{asked} -> {landed}")]


def test_state_reset_takes_a_unicode_host(tmp_path: Path) -> None:
    from crawler.state import CrawlState

    path = tmp_path / "state.sqlite"
    with CrawlState(path) as state:
        state.start_run("run-1", PUNY, tmp_path / "run", full=False, bounded=False)
        state.finish_run("run-1", "finished", {})
    assert PUNY in _cli("state", "--state", str(path)).stdout
    reset = _cli("state", "reset", "hà-nội.vn", "--state", str(path))
    assert reset.returncode == 0, reset.stderr
    assert PUNY not in _cli("state", "--state", str(path)).stdout


def test_an_alias_on_a_private_address_of_a_public_crawl_is_refused() -> None:
    dns = FakeDNS({"portal.gov.vn": ["93.184.216.34"], "moved.example": ["10.0.0.9"]})
    mw = middleware(["https://portal.gov.vn/"], dns)
    hop = {"redirect_urls": ["https://portal.gov.vn/"], "role": "start"}
    assert check(mw, "https://moved.example/", **hop) == "offsite_redirect"
    mw.crawler.spider.boundary.add_host("moved.example")
    assert check(mw, "https://moved.example/", **hop) == "private_address"
