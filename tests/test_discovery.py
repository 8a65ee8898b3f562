"""Sitemaps, feeds and robots.txt: parsed newest first, safely (no entity expansion, size limits)."""

from __future__ import annotations

import gzip

import lxml.html
import pytest

from crawler.discovery import (
    DiscoveryError,
    decompress,
    feed_links,
    parse_feed,
    parse_sitemap,
    robots_sitemaps,
)

from .conftest import need_shared, realpage_urls

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
URLSET = f"""<?xml version="1.0" encoding="UTF-8"?><urlset {NS}>
<url><loc>https://a.gov.vn/tin-tuc/cu-1.html</loc><lastmod>2024-01-02</lastmod></url>
<url><loc>https://a.gov.vn/tin-tuc/moi-2.html</loc><lastmod>2024-03-02T10:00:00+07:00</lastmod></url>
<url><loc>/tin-tuc/khong-ngay-3.html</loc></url></urlset>""".encode()


def test_robots_sitemap_lines() -> None:
    robots = "User-Agent: *\nDisallow:\nSitemap: https://daklak.gov.vn/sitemap.xml\nsitemap: /news.xml\n"
    assert robots_sitemaps(robots, "https://daklak.gov.vn/robots.txt") == [
        "https://daklak.gov.vn/sitemap.xml",
        "https://daklak.gov.vn/news.xml",
    ]


@pytest.mark.parametrize("compress", [False, True])
def test_urlset_newest_first(compress: bool) -> None:
    body = gzip.compress(URLSET) if compress else URLSET
    sitemap = parse_sitemap(body, "https://a.gov.vn/sitemap.xml")
    assert sitemap.kind == "urlset"
    assert [e.url for e in sitemap.entries] == [
        "https://a.gov.vn/tin-tuc/moi-2.html",
        "https://a.gov.vn/tin-tuc/cu-1.html",
        "https://a.gov.vn/tin-tuc/khong-ngay-3.html",
    ]
    assert sitemap.entries[0].date == "2024-03-02T10:00:00+07:00"


def test_sitemap_index() -> None:
    body = f"<sitemapindex {NS}><sitemap><loc>https://a.gov.vn/s1.xml.gz</loc></sitemap></sitemapindex>".encode()
    sitemap = parse_sitemap(body, "https://a.gov.vn/sitemap.xml")
    assert (sitemap.kind, [e.url for e in sitemap.entries]) == ("index", ["https://a.gov.vn/s1.xml.gz"])


def test_entities_are_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY ext SYSTEM "file:///etc/passwd">]>'
        b"<urlset><url><loc>https://a.gov.vn/&c;&ext;</loc></url></urlset>"
    )
    entries = parse_sitemap(bomb, "https://a.gov.vn/sitemap.xml").entries
    assert len(entries) <= 1
    assert all("aaaa" not in e.url and "root:" not in e.url for e in entries)


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * (2 * 1024 * 1024) + b"</urlset>")
    with pytest.raises(DiscoveryError, match="decompresses to more than"):
        decompress(bomb, limit=1024 * 1024)


def test_not_a_sitemap() -> None:
    with pytest.raises(DiscoveryError):
        parse_sitemap(b"<html><body>Not found</body></html>", "https://a.gov.vn/sitemap.xml")


def test_rss_with_cdata_titles() -> None:
    rss = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Tin tức</title>
    <item><title><![CDATA[Hội nghị sơ kết]]></title><link>https://a.gov.vn/vi/news/tin/hoi-nghi-12.html</link>
    <pubDate>Mon, 16 Jul 2018 10:25:00 +0700</pubDate></item>
    <item><title>Tin mới</title><link>/vi/news/tin/tin-moi-13.html</link>
    <pubDate>Tue, 17 Jul 2018 08:00:00 +0700</pubDate></item>
    </channel></rss>""".encode()
    entries = parse_feed(rss, "https://a.gov.vn/vi/news/rss/tin/")
    assert [e.url for e in entries] == [
        "https://a.gov.vn/vi/news/tin/tin-moi-13.html",
        "https://a.gov.vn/vi/news/tin/hoi-nghi-12.html",
    ]
    assert entries[1].title == "Hội nghị sơ kết"
    assert entries[1].date == "2018-07-16T10:25:00+07:00"


def test_real_ckan_atom_feed() -> None:
    urls = realpage_urls()
    for local in (
        "ckan_vnpt/odp_cantho_feed_group_tainguyenmoi-truong.atom",
        "ckan_vnpt/odp_cantho_feed_org_huyen-tran-de.atom",
    ):
        entries = parse_feed(need_shared("realpages", local).read_bytes(), urls[local])
        assert entries
        assert all(e.url.startswith("https://odp.cantho.gov.vn/") for e in entries)
        assert all(e.date and e.date.endswith("+07:00") for e in entries)
        assert [e.date for e in entries] == sorted((e.date for e in entries), reverse=True)


def test_feed_links_in_head() -> None:
    tree = lxml.html.fromstring(
        '<html><head><link rel="alternate" type="application/rss+xml" href="/rss/tintuc.rss">'
        '<link rel="alternate" hreflang="en" href="/en/"></head><body></body></html>'
    )
    assert feed_links(tree, "https://vinhlong.gov.vn/") == ["https://vinhlong.gov.vn/rss/tintuc.rss"]
