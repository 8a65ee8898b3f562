"""URL canonicalisation: one spelling per page before it is fetched, deduplicated or stored.

`canonicalize_url` gives the URL we fetch and store (still fetchable: scheme and trailing slash are
kept); `url_key` gives the page's identity, which also folds http/https, `www.` and a trailing slash,
so the same page reached under both spellings is fetched and recorded once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as w3lib_canonicalize
from w3lib.url import safe_url_string

_TRACKING = re.compile(r"^(?:utm_\w+|fbclid|gclid|dclid|msclkid|zarsrc|zarsrc\w*|_ga|_gl|mc_cid|mc_eid|ref_src)$", re.I)
_SESSION = re.compile(r"^(?:jsessionid|phpsessid|sid|sessionid|session_id|aspsessionid\w*|cfid|cftoken)$", re.I)
_PRINT = re.compile(r"^(?:print|printable|viewmode|view_mode|output|template|tmpl)$", re.I)
_PRINT_VALUES = frozenset({"1", "true", "print", "yes", "component"})
_PATH_SESSION = re.compile(r";jsessionid=[^/?#]*", re.I)
# ASP.NET cookieless sessions put the session id in the path: /(S(abc123))/NewsDetail.aspx
_ASPNET_SESSION = re.compile(r"/\((?:[A-Z]\([^)]*\))+\)(?=/)", re.I)
# Liferay portlet state parameters: they change the rendering, not the article.
_LIFERAY_STATE = re.compile(
    r"^(?:p_p_\w+|p_r_p_\w+|p_l_id|p_auth|p_v_l_s_g_id|redirect|inheritRedirect|_\w+_(?:redirect|struts_action|backURL))$"
)
_ARTICLE_PATH = re.compile(r"/-/view_content/\d+-|/-/asset_publisher/[^/]+/content/|/-/details/\d+")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonicalize_url(url: str) -> str:
    """Sorted query, no fragment, no tracking/session/print parameters, lower-case host, no default port.

    Liferay portlet parameters are dropped from article URLs only: listing pagination needs them.
    """
    parts = urlsplit(url.strip())
    article = bool(_ARTICLE_PATH.search(parts.path))
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not (_TRACKING.match(k) or _SESSION.match(k) or (article and (_LIFERAY_STATE.match(k) or _PRINT.match(k))))
        and not (_PRINT.match(k) and v.lower() in _PRINT_VALUES)
    ]
    try:
        port = parts.port
    except ValueError:  # "http://host:abc/": keep what the page wrote rather than fail
        return url.strip().split("#", 1)[0]
    host = host_port(parts.hostname or "", None if port == _DEFAULT_PORTS.get(parts.scheme.lower()) else port)
    path = _ASPNET_SESSION.sub("", _PATH_SESSION.sub("", parts.path)) or "/"
    rebuilt = urlunsplit((parts.scheme.lower(), host, path, urlencode(query), ""))
    return w3lib_canonicalize(rebuilt, keep_fragments=False)


def exact_url(url: str) -> str:
    """A URL in the form that tells two requests apart: w3lib's canonical form (sorted query, no
    fragment) with every parameter and path segment kept — session ids too, which
    `canonicalize_url` drops, so `/tin` → `/tin;jsessionid=…` is no redirect loop."""
    try:
        return w3lib_canonicalize(url.strip(), keep_fragments=False)
    except ValueError:  # a port that is no number: compare what the page wrote
        return url.strip().split("#", 1)[0]


def host_port(host: str, port: int | None) -> str:
    """`host` or `host:port`, lower case, an IPv6 literal in brackets (`[2001:db8::1]:8080`) so
    its last group is never read as the port."""
    host = host.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def ascii_host(host: str) -> str:
    """A host name in the one form hosts are compared in: lower case, no trailing dot, an
    internationalised name in its IDNA (punycode) ASCII spelling (`hà-nội.vn` → `xn--h-ni-0na4517b.vn`).

    ASCII names are only lower-cased (`foo_bar.gov.vn` is no valid IDNA label, yet a real host);
    a name neither IDNA nor Python's codec can encode comes back lower-cased as given."""
    host = host.strip().rstrip(".").lower()
    if host.isascii():
        return host
    try:
        return _idna_encode(host)
    except (UnicodeError, ValueError):
        return host


@lru_cache(maxsize=4096)
def _idna_encode(host: str) -> str:
    try:
        import idna  # IDNA 2008 with UTS #46 mapping, as browsers do
    except ImportError:  # pragma: no cover - idna comes with Scrapy's dependencies
        return host.encode("idna").decode("ascii")
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        return host.encode("idna").decode("ascii")  # IDNA 2003, Python's codec


def site_key(url: str) -> str:
    """The site a URL belongs to: lower-case ASCII (IDNA) host without `www.`, with its port when
    not the default (`portal.gov.vn:8080`, `[2001:db8::1]:8080`)."""
    parts = urlsplit(url.strip())
    host = ascii_host(parts.hostname or "").removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    return host_port(host, None if port == _DEFAULT_PORTS.get(parts.scheme.lower()) else port)


def url_key(url: str) -> str:
    """The identity of the page behind a URL: its canonical form without scheme, `www.` or trailing slash."""
    return canonical_key(canonicalize_url(url))


def canonical_key(canonical: str) -> str:
    """`url_key` of a URL already canonicalised (saves canonicalising it twice)."""
    parts = urlsplit(canonical)
    path = parts.path.rstrip("/") if parts.path != "/" else ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{site_key(canonical)}{path}{query}"


# A character of a URL becomes at most 12 once percent-encoded (4 UTF-8 bytes, 3 characters each).
_MAX_ENCODED_GROWTH = 12


def url_too_long(url: str, limit: int) -> bool:
    """Longer than Scrapy's URLLENGTH_LIMIT (0: no limit) in the form Scrapy sends it (percent-encoded),
    where its UrlLengthMiddleware would drop the request without a word."""
    if limit <= 0 or len(url) * _MAX_ENCODED_GROWTH <= limit:
        return False
    return len(safe_url_string(url)) > limit
