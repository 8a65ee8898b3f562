"""URL canonicalisation and charset handling."""

from __future__ import annotations

import pytest

from crawler.decoding import decode_html
from crawler.platforms import article_key
from crawler.urls import canonicalize_url

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
