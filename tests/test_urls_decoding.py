"""URL canonicalisation and charset handling."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from crawler.decoding import decode_html
from crawler.platforms import article_key
from crawler.urls import canonicalize_url, exact_url, site_key, url_key

from .conftest import realpage_urls


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "HTTP://Sotttt.Hanoi.gov.vn:80/vi/tin/-/view_content/1005455-abc.html?p_p_state=pop_up&viewMode=print#x",
            "http://sotttt.hanoi.gov.vn/vi/tin/-/view_content/1005455-abc.html",
        ),
        ("https://a.gov.vn/x?utm_source=fb&b=2&a=1", "https://a.gov.vn/x?a=1&b=2"),
        ("https://a.gov.vn:443/x;jsessionid=AB12?print=1", "https://a.gov.vn/x"),
        ("http://a.gov.vn/bao?p_p_id=101&_101_cur=2", "http://a.gov.vn/bao?_101_cur=2&p_p_id=101"),
    ],
)
def test_canonicalize(url: str, canonical: str) -> None:
    assert canonicalize_url(url) == canonical


@pytest.mark.parametrize(
    ("url", "canonical", "site"),
    [
        ("http://[2001:DB8::1]:8080/tin?utm_source=x#a", "http://[2001:db8::1]:8080/tin", "[2001:db8::1]:8080"),
        ("http://[2001:db8::1]:80/tin", "http://[2001:db8::1]/tin", "[2001:db8::1]"),
        ("https://[::1]/", "https://[::1]/", "[::1]"),
        ("http://[2001:db8::1:8080]/x", "http://[2001:db8::1:8080]/x", "[2001:db8::1:8080]"),
    ],
)
def test_ipv6_hosts_keep_their_brackets(url: str, canonical: str, site: str) -> None:
    """Without brackets `2001:db8::1:8080` reads as another host, or its last group as a port."""
    assert canonicalize_url(url) == canonical
    assert site_key(url) == site
    assert url_key(url) == f"{site}{urlsplit(canonical).path.rstrip('/')}"
    assert urlsplit(canonical).hostname == urlsplit(url).hostname.lower()


@pytest.mark.parametrize(
    ("url", "exact"),
    [
        ("http://a.gov.vn/tin;jsessionid=AB12", "http://a.gov.vn/tin;jsessionid=AB12"),
        ("http://a.gov.vn/(S(abc123xyz))/TinTuc.aspx", "http://a.gov.vn/(S(abc123xyz))/TinTuc.aspx"),
        ("http://A.gov.vn/tin?sid=42&b=2&a=1#doan", "http://a.gov.vn/tin?a=1&b=2&sid=42"),
        ("http://a.gov.vn/tin?utm_source=zalo", "http://a.gov.vn/tin?utm_source=zalo"),
        ("http://a.gov.vn:abc/tin#x", "http://a.gov.vn:abc/tin"),
    ],
)
def test_exact_url_keeps_session_ids(url: str, exact: str) -> None:
    """The redirect-loop check's form: what the server sees, so a session being set up is no loop."""
    assert exact_url(url) == exact


def test_same_liferay_article_under_two_categories_has_one_key() -> None:
    a = "http://sotttt.hanoi.gov.vn/vi/tin-tuc-su-kien/-/view_content/1005455-tuyen-truyen.html"
    b = "http://sotttt.hanoi.gov.vn/vi/thong-bao/-/view_content/1005455-tuyen-truyen.html?viewMode=print"
    assert article_key(a) == article_key(b) is not None


def test_manifest_urls_keep_their_paging_parameters() -> None:
    for url in realpage_urls().values():
        if "_101_cur=" in url:
            assert "_101_cur=10" in canonicalize_url(url)
            assert "p_p_id=101" in canonicalize_url(url)


def test_wrong_charset_header_does_not_garble_utf8() -> None:
    body = "<html><body>Hội nghị sơ kết</body></html>".encode()
    text, encoding = decode_html(body, "iso-8859-1")
    assert "Hội nghị sơ kết" in text
    assert encoding == "utf-8"


def test_legacy_single_byte_page_uses_its_meta_charset() -> None:
    body = '<html><head><meta charset="windows-1258"></head><body>Vi\xea\xf2t</body></html>'.encode("latin-1")
    text, encoding = decode_html(body, None)
    assert encoding == "windows-1258"
    assert "Việt" in __import__("unicodedata").normalize("NFC", text)


@pytest.mark.parametrize("url", ["https://baotintuc.vn (og:url)", "http://a.gov.vn:abc/x", "http://a.gov.vn:99999/x"])
def test_malformed_urls_do_not_raise(url: str) -> None:
    assert canonicalize_url(url)


def test_www_is_the_same_site() -> None:
    from crawler.platforms.page import same_host, site_host

    assert same_host("https://www.laodong.vn/", "https://laodong.vn/thoi-su/a-1.ldo")
    assert not same_host("https://laodong.vn/", "https://media.laodong.vn/x.jpg")
    assert site_host("HTTPS://WWW.Hanoi.gov.vn/x") == "hanoi.gov.vn"


def _variants(url: str) -> list[str]:
    """Spellings of the same page that portals, sitemaps and share buttons produce."""
    parts = urlsplit(url)
    host = parts.netloc
    www = host if host.startswith("www.") else f"www.{host}"
    join = "&" if parts.query else "?"
    variants = [
        url.replace("http://", "https://", 1) if url.startswith("http://") else url.replace("https://", "http://", 1),
        url.replace(host, www, 1),
        url.replace(host, host.upper(), 1),
        f"{url}{join}utm_source=zalo&fbclid=abc#binh-luan",
        url.replace(host, f"{host}:{443 if parts.scheme == 'https' else 80}", 1),
    ]
    if not parts.query and not parts.path.endswith((".html", ".htm", ".aspx")):
        variants.append(url.rstrip("/") + "/")
    return variants


def test_every_real_page_url_has_one_key_whatever_its_spelling() -> None:
    # Some MANIFEST rows note where the URL came from ("https://baotintuc.vn (og:url)"): not URLs.
    urls = {local: url for local, url in realpage_urls().items() if url and " " not in url}
    keys = {}
    for local, url in urls.items():
        key = url_key(url)
        for variant in _variants(url):
            assert url_key(variant) == key, (local, variant)
        keys[key] = local
    assert len(keys) == len(set(urls.values()))  # distinct pages keep distinct keys


def test_real_liferay_article_urls_drop_portlet_state_and_print_views() -> None:
    for url in realpage_urls().values():
        if "/-/view_content/" not in url:
            continue
        noisy = f"{url}?p_p_id=101&p_p_lifecycle=0&p_p_state=pop_up&p_p_mode=view&_101_redirect=%2Fvi&viewMode=print"
        assert url_key(noisy) == url_key(url)
        assert canonicalize_url(noisy) == canonicalize_url(url)


@pytest.mark.parametrize(
    ("url", "same_as"),
    [
        # Liferay asset publisher links carry where you came from.
        (
            "https://data.gov.vn/web/guest/news/-/asset_publisher/Ab12/content/ke-hoach?inheritRedirect=true"
            "&redirect=https%3A%2F%2Fdata.gov.vn%2Fweb%2Fguest%2Fnews",
            "https://data.gov.vn/web/guest/news/-/asset_publisher/Ab12/content/ke-hoach",
        ),
        # ASP.NET cookieless session in the path, and a Java session id.
        (
            "http://vpubnd.kontum.gov.vn/(S(x1y2z3))/NewsDetail.aspx?id=480",
            "http://vpubnd.kontum.gov.vn/NewsDetail.aspx?id=480",
        ),
        (
            "https://quangnam.gov.vn/a;jsessionid=0A1B2C?dDocName=PORTAL537326",
            "https://quangnam.gov.vn/a?dDocName=PORTAL537326",
        ),
        ("https://x.gov.vn/tin-tuc?PHPSESSID=abc&page=2", "https://x.gov.vn/tin-tuc?page=2"),
        # Print views by parameter.
        ("https://baohatinh.vn/bai-viet-123.html?print=1", "https://baohatinh.vn/bai-viet-123.html"),
    ],
)
def test_same_page_under_domain_url_shapes(url: str, same_as: str) -> None:
    assert url_key(url) == url_key(same_as)


@pytest.mark.parametrize(
    ("url", "other"),
    [
        # Parameters that name the page are kept.
        (
            "https://bachmai.gov.vn/index.php?option=com_content&task=view&id=2400",
            "https://bachmai.gov.vn/index.php?option=com_content&task=view&id=2401",
        ),
        ("https://danang.gov.vn/web/guest/chi-tiet?id=101", "https://danang.gov.vn/web/guest/chi-tiet?id=102"),
        (
            "https://hhtp.gov.vn/index.php?language=vi&nv=news&op=a-1",
            "https://hhtp.gov.vn/index.php?language=vi&nv=news&op=a-2",
        ),
        (
            "https://moh.gov.vn/News/Pages/TinHoatDongV2.aspx?ItemID=5",
            "https://moh.gov.vn/News/Pages/TinHoatDongV2.aspx?ItemID=6",
        ),
        # Liferay listing pages differ by their portlet paging parameter.
        ("http://a.gov.vn/bao?p_p_id=101&_101_cur=2", "http://a.gov.vn/bao?p_p_id=101&_101_cur=3"),
        # Another port is another site (a mirror on 127.0.0.1 next to another).
        ("http://127.0.0.1:8001/a", "http://127.0.0.1:8002/a"),
    ],
)
def test_different_pages_keep_different_keys(url: str, other: str) -> None:
    assert url_key(url) != url_key(other)


def test_article_keys_tell_sites_on_other_ports_apart() -> None:
    path = "/vi/tin/-/view_content/1005455-abc.html"
    assert article_key(f"http://127.0.0.1:8001{path}") != article_key(f"http://127.0.0.1:8002{path}")
    assert article_key(f"http://www.sotttt.hanoi.gov.vn{path}") == article_key(f"https://sotttt.hanoi.gov.vn{path}")
