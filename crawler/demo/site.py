"""A small fixture portal in Liferay 6.2 markup, served on 127.0.0.1 for `crawler demo` and tests.

It carries what real portals throw at a crawler: category listings with pagination, one article
under two categories and as a print view, the seed report with its noise, an empty 200 page, a dead
link (404), a page whose charset header lies, a PDF link and a robots.txt.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs

from crawler.legacy import unicode_to_tcvn3

PAGE_SIZE = 2
# Placeholder for the server's own origin in bodies that need absolute URLs.
BASE = "@@BASE@@"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
CATEGORIES = {"tin-tuc-su-kien": "Tin tức sự kiện", "thong-bao": "Thông báo"}


@dataclass
class Route:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    # Validators for conditional GET: a request repeating the ETag gets 304 Not Modified.
    etag: str | None = None
    last_modified: str | None = None
    # Further response headers (a redirect's Location …).
    headers: tuple[tuple[str, str], ...] = ()


# Syllables for generated article bodies: random word runs share almost no 3-word shingles, so
# generated articles are never near duplicates of each other unless a test makes them so.
_SYLLABLES = (
    "an bảo bình cán cấp chính chương công cơ cuộc dân dịch dụng đại đạo đảm đăng điện định đoàn đổi đồng "
    "giám giao hành hạ hoạch học hội huyện hướng kế kết khai khoa kinh lãnh liên lực lượng mạng minh môi "
    "năm ngành nghị nguồn nhân nhiệm nông phát phòng phố phục quản quốc quy sản sở sự tác tài tâm tế thành "
    "thông thủ thuật tỉnh tổ trình triển trung trường truyền tuyến văn vận việc viên vụ xã xây xuất ý"
).split()


def generated_articles(count: int, *, first_id: int = 200000, newest: str = "2024-06-30", seed: int = 7) -> list[dict]:
    """`count` plain articles with distinct bodies, one a day back from `newest` (newest first);
    every third one is listed under both categories, so it is linked under two URLs."""
    import random
    from datetime import date, timedelta

    rng = random.Random(seed)
    start = date.fromisoformat(newest)
    articles = []
    for n in range(count):
        day = start - timedelta(days=n)
        paragraphs = [" ".join(rng.choice(_SYLLABLES) for _ in range(40)).capitalize() + "." for _ in range(3)]
        category = list(CATEGORIES)[n % 2]
        article = {
            "id": first_id + n,
            "category": category,
            "slug": f"bai-viet-so-{n}",
            "title": f"Bài viết số {n}: " + " ".join(rng.choice(_SYLLABLES) for _ in range(6)),
            "date": f"{day.day:02d}/{day.month:02d}/{day.year} | 8:{n % 60:02d} AM",
            "views": n,
            "sapo": "",
            "blocks": [["p", text] for text in paragraphs],
            "editor": "Ban biên tập",
        }
        if n % 3 == 0:
            article["also_in"] = [c for c in CATEGORIES if c != category]
        articles.append(article)
    return articles


def load_articles() -> list[dict[str, Any]]:
    return json.loads(files("crawler.demo").joinpath("articles.json").read_text(encoding="utf-8"))


def article_path(article: dict[str, Any], category: str | None = None) -> str:
    return f"/vi/{category or article['category']}/-/view_content/{article['id']}-{article['slug']}.html"


def listing_path(category: str, page: int) -> str:
    if page == 1:
        return f"/vi/{category}"
    return (
        f"/vi/{category}?p_p_id=101&p_p_lifecycle=0&p_p_state=normal&p_p_mode=view"
        f"&_101_delta={PAGE_SIZE}&_101_cur={page}"
    )


def _layout(title: str, main: str, feed: str | None = None) -> str:
    nav = "".join(f'<li><a href="/vi/{slug}">{escape(name)}</a></li>' for slug, name in CATEGORIES.items())
    feed_link = f'<link rel="alternate" type="application/rss+xml" href="{feed}" />' if feed else ""
    return f"""<!DOCTYPE html>
<html class="aui ltr" dir="ltr" lang="vi-VN">
<head><meta content="text/html; charset=UTF-8" http-equiv="content-type" /><title>{escape(title)}</title>{feed_link}</head>
<body>
<a href="#main-content" class="skip-to-content">Truy cập nội dung luôn</a>
<nav class="sort-pages"><ul><li><a href="/">Trang chủ</a></li>{nav}
<li><a href="/vi/gioi-thieu">Giới thiệu</a></li><li><a href="http://127.0.0.1:cong-cu/tra-cuu">Tra cứu</a></li><li><a href="/vi/bao-cao-tong-hop">Báo cáo</a></li><li><a href="/private/noi-bo">Nội bộ</a></li><li><a href="/vi/bai-da-xoa">Lưu trữ</a></li></ul></nav>
<div id="main-content" role="main"><div class="portlet-column" id="column-1">
{main}
</div></div>
<footer><p>Cơ quan chủ quản: Sở Thông tin và Truyền thông</p><p>Powered by Liferay</p></footer>
<script>Liferay.Portlet.ready(function() {{}});</script>
</body></html>"""


def _block_html(kind: str, value: str = "") -> str:
    if kind == "img":
        return f'<p style="text-align: center;"><img alt="" src="{escape(value)}" /></p>'
    if kind == "caption":
        return f'<p style="text-align: center;"><em>{escape(value)}</em></p>'
    if kind == "byline":
        return f'<p align="right"><strong>{escape(value)}</strong></p>'
    if kind == "loading":
        return '<div class="ads-slot"><span>Loading...</span></div>'
    if kind == "attach":
        return f'<p><a href="{escape(value)}">Tải tệp đính kèm</a></p>'
    return f"<p>{escape(value)}</p>"


def article_page(
    article: dict[str, Any], category: str | None = None, others: list[dict[str, Any]] | None = None
) -> str:
    category = category or article["category"]
    body = "\n".join(_block_html(*block) for block in article["blocks"])
    noise = '<div class="article-counters"><span>0</span> <span>162</span></div>' if article.get("noise") else ""
    related = "".join(
        f'<li><a href="{article_path(other)}">{escape(other["title"])}</a></li>'
        for other in (others if others is not None else load_articles())[:8]
        if other["id"] != article["id"]
    )
    print_link = f"{article_path(article, category)}?p_p_state=pop_up&amp;viewMode=print"
    main = f"""
<div class="dd_chuyenmuc"><span class="trangchu"><a href="/">Trang chủ</a></span>
<span class="tintuc"><p>{escape(CATEGORIES[category])}</p></span></div>
<div class="portlet-boundary portlet-asset-publisher" id="p_p_id_101_"><section class="portlet"><div class="portlet-body">
<div class="asset-full-content-title">{escape(article["title"])}</div>
<div class="assetPublishDate block_timer"> Ngày đăng {escape(article["date"])} &nbsp;|&nbsp;View count: {article["views"]}</div>
{noise}
<div class="asset-full-content show-asset-title"><div class="asset-content" id="_101_{article["id"]}">
<div class="sapo-wrapper clearfix"><p class="sapo"><strong>{escape(article.get("sapo", ""))}</strong></p></div>
<div class="journal-content-article">
{body}
<p align="right" class="view-content-author"><strong><em>{escape(article.get("editor", ""))}</em></strong></p>
</div></div></div>
<div class="asset-control-detail"><span class="print-action"><a href="{print_link}">In bài viết</a></span>
<span class="mailto-action"><a href="mailto:">Gửi mail</a></span></div>
<div class="related_asset"><div class="related_asset_title">Các tin khác</div><ul class="related_asset_list">{related}</ul></div>
</div></section></div>"""
    return _layout(article["title"], main)


def listing_page(category: str, page: int, articles: list[dict[str, Any]]) -> str:
    chunk = articles[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    pages = max(1, -(-len(articles) // PAGE_SIZE))
    items = "".join(
        f"""<div class="asset-abstract"><div class="asset-content-custom">
<h3 class="asset-title"><a href="{article_path(a, category)}">{escape(a["title"])}</a></h3>
<div class="assetPublishDate block_timer"> {escape(a["date"])} </div>
<div class="asset-summary">{escape(a.get("sapo", ""))}</div></div></div>"""
        for a in chunk
    )
    window = sorted({1, pages, *range(max(1, page - 3), min(pages, page + 3) + 1)})
    pager = "".join(f'<li><a href="{escape(listing_path(category, n))}">{n}</a></li>' for n in window)
    if page < pages:
        pager += f'<li><a href="{escape(listing_path(category, page + 1))}">Sau</a></li>'
    main = f"""<div class="portlet-boundary portlet-asset-publisher" id="p_p_id_101_">
<h1 class="portlet-title">{escape(CATEGORIES[category])}</h1>{items}
<div class="taglib-page-iterator"><ul class="lfr-pagination-buttons pager">{pager}</ul></div></div>"""
    return _layout(CATEGORIES[category], main, feed=f"/rss/{category}.rss")


def build_routes(articles: list[dict[str, Any]] | None = None) -> dict[str, Route]:
    """Every path (with its query string) the fixture portal answers."""
    articles = articles if articles is not None else load_articles()
    routes: dict[str, Route] = {}
    for category in CATEGORIES:
        members = [a for a in articles if a["category"] == category or category in a.get("also_in", [])]
        pages = max(1, -(-len(members) // PAGE_SIZE))
        for page in range(1, pages + 1):
            routes[listing_path(category, page)] = Route(200, listing_page(category, page, members).encode())
        for article in members:
            html = article_page(article, category, articles)
            if article.get("legacy") == "tcvn3":
                # A pre-Unicode page: TCVN3 bytes behind a windows-1252 declaration.
                legacy_html = html.replace('charset=UTF-8"', 'charset=windows-1252"')
                routes[article_path(article, category)] = Route(
                    200, unicode_to_tcvn3(legacy_html), "text/html; charset=windows-1252"
                )
            elif article.get("charset_lie"):
                routes[article_path(article, category)] = Route(
                    200, html.encode("utf-8"), "text/html; charset=iso-8859-1"
                )
            else:
                routes[article_path(article, category)] = Route(200, html.encode("utf-8"))
    home_links = "".join(f'<li><a href="{article_path(a)}">{escape(a["title"])}</a></li>' for a in articles[:3])
    # A stale link to one article under a retired category: an empty page, so the crawl must fall
    # back to the article's other URL.
    stale = next((a for a in articles if a.get("charset_lie")), None)
    if stale is not None:
        stale_path = f"/vi/luu-tru/-/view_content/{stale['id']}-{stale['slug']}.html"
        routes[stale_path] = Route(200, _layout("", "").encode())
        home_links = f'<li><a href="{stale_path}">{escape(stale["title"])}</a></li>' + home_links
    routes["/"] = Route(200, _layout("Trang chủ", f'<ul class="hot-news">{home_links}</ul>').encode())
    routes["/vi/gioi-thieu"] = Route(200, b"")
    # A document served under a page-like URL: fetched, counted as non-HTML, never parsed.
    routes["/vi/bao-cao-tong-hop"] = Route(200, b"%PDF-1.4\n%%EOF\n", "application/pdf")
    routes["/robots.txt"] = Route(
        200, f"User-agent: *\nDisallow: /private/\nSitemap: {BASE}/sitemap.xml\n".encode(), "text/plain"
    )
    routes.update(discovery_routes(articles))
    pdf = b"%PDF-1.4\n% t\xc3\xa0i li\xe1\xbb\x87u t\xe1\xba\xadp hu\xe1\xba\xa5n\n%%EOF\n"
    routes["/documents/10182/55/tai-lieu-tap-huan-attt.pdf"] = Route(200, pdf, "application/pdf")
    # The same file attached again under another name: stored once when downloading attachments.
    routes["/documents/10182/55/tai-lieu-tap-huan-attt-ban-sao.pdf"] = Route(200, pdf, "application/pdf")
    return routes


DEAD_LINK_KINDS = ("http_404", "http_410", "non_html", "no_article")


def add_dead_links(routes: dict[str, Route], count: int) -> dict[str, str]:
    """Link `count` dead pages from the home page (a "Tin nổi bật" box, so every run sees them),
    cycling through what portals leave behind: deleted articles (404 and 410), documents behind
    page-like URLs, and article URLs showing a notice instead of the article. Returns {path: the reject kind it gives}."""
    dead: dict[str, str] = {}
    for n in range(count):
        kind = DEAD_LINK_KINDS[n % len(DEAD_LINK_KINDS)]
        if kind == "http_404":
            path = f"/vi/tin-tuc-su-kien/-/view_content/{700000 + n}-bai-da-go-{n}.html"  # no route: 404
        elif kind == "http_410":
            path = f"/vi/thong-bao/-/view_content/{700000 + n}-bai-het-han-{n}.html"
            routes[path] = Route(410, _layout("Bài viết không còn", "<p>Bài viết đã bị gỡ bỏ.</p>").encode())
        elif kind == "non_html":
            path = f"/vi/van-ban/bieu-mau-{n}"
            routes[path] = Route(200, b"\xd0\xcf\x11\xe0 bieu mau", "application/msword")
        else:  # a "soft 404": the article's URL answers 200 with a notice instead of the article
            path = f"/vi/tin-tuc-su-kien/-/view_content/{700000 + n}-bai-khong-ton-tai-{n}.html"
            routes[path] = Route(200, _layout("Thông báo", "<p>Bài viết không tồn tại hoặc đã bị xoá.</p>").encode())
        dead[path] = kind
    links = "".join(f'<li><a href="{escape(path)}">Tin nổi bật {n}</a></li>' for n, path in enumerate(dead))
    home = routes["/"].body.decode()
    featured = f'<ul class="featured">{links}</ul><ul class="hot-news">'
    routes["/"] = Route(200, home.replace('<ul class="hot-news">', featured, 1).encode())
    return dead


def _iso_date(article: dict[str, Any]) -> str | None:
    from crawler.dates import parse_vietnamese_date

    parsed = parse_vietnamese_date(article["date"])
    return parsed.iso if parsed else None


def discovery_routes(articles: list[dict[str, Any]]) -> dict[str, Route]:
    """A sitemap index (one gzip child, one plain) and an RSS feed per category."""
    routes: dict[str, Route] = {}
    children = []
    for category in CATEGORIES:
        members = [a for a in articles if a["category"] == category]
        urls = "".join(
            f"<url><loc>{BASE}{article_path(a)}</loc>"
            + (f"<lastmod>{a.get('modified') or _iso_date(a)}</lastmod>" if a.get("modified") or _iso_date(a) else "")
            + "</url>"
            for a in members
        )
        xml = f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="{SITEMAP_NS}">{urls}</urlset>'.encode()
        gzipped = category == "tin-tuc-su-kien"
        path = f"/sitemap-{category}.xml" + (".gz" if gzipped else "")
        routes[path] = Route(200, gzip.compress(xml) if gzipped else xml, "application/xml")
        children.append(path)
        items = "".join(
            f"<item><title>{escape(a['title'])}</title><link>{BASE}{article_path(a)}</link></item>" for a in members
        )
        rss = f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(CATEGORIES[category])}</title>{items}</channel></rss>'
        routes[f"/rss/{category}.rss"] = Route(200, rss.encode(), "application/rss+xml")
    index = "".join(f"<sitemap><loc>{BASE}{path}</loc></sitemap>" for path in children)
    routes["/sitemap.xml"] = Route(
        200,
        f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="{SITEMAP_NS}">{index}</sitemapindex>'.encode(),
        "application/xml",
    )
    return routes


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, Route] = {}
    # Seconds to wait before answering an article page (tests that stop a crawl half-way).
    article_delay: float = 0.0
    served: list[str] = []

    def do_GET(self) -> None:
        self.served.append(self.path)
        route = self.routes.get(self.path)
        if route is None:
            route = Route(404, _layout("Không tìm thấy", "<p>Không tìm thấy trang</p>").encode())
        if self.article_delay and "/-/view_content/" in self.path:
            time.sleep(self.article_delay)
        if route.etag and self.headers.get("If-None-Match") == route.etag:
            self.send_response(304)
            self.send_header("ETag", route.etag)
            self.end_headers()
            return
        body = route.body
        if BASE.encode() in body:  # absolute URLs in robots.txt, sitemaps and feeds
            base = f"http://127.0.0.1:{self.server.server_address[1]}".encode()
            body = body.replace(BASE.encode(), base)
        elif body.startswith(b"\x1f\x8b"):
            base = f"http://127.0.0.1:{self.server.server_address[1]}".encode()
            body = gzip.compress(gzip.decompress(body).replace(BASE.encode(), base))
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(body)))
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.last_modified:
            self.send_header("Last-Modified", route.last_modified)
        for name, value in route.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        """WebForms postbacks: routes keyed "POST <path> <__EVENTTARGET>=<__EVENTARGUMENT>"."""
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8")).items()}
        key = f"POST {self.path} {form.get('__EVENTTARGET', '')}={form.get('__EVENTARGUMENT', '')}"
        route = self.routes.get(key) if form.get("__VIEWSTATE") else None
        if route is None:
            route = Route(400 if not form.get("__VIEWSTATE") else 404, b"")
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        self.wfile.write(route.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the crawler's own log records every request."""


def serve(
    routes: dict[str, Route] | None = None, port: int = 0, article_delay: float = 0.0
) -> tuple[ThreadingHTTPServer, str]:
    """Start the fixture portal on 127.0.0.1 in a background thread; returns (server, base URL).

    `server.RequestHandlerClass.served` lists the paths requested, in order."""
    handler = type(
        "FixtureHandler",
        (_Handler,),
        {
            "routes": routes if routes is not None else build_routes(),
            "article_delay": article_delay,
            "served": [],
        },
    )
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
