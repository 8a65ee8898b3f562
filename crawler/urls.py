"""URL canonicalisation: one spelling per page before it is fetched, deduplicated or stored."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as w3lib_canonicalize

_TRACKING = re.compile(r"^(?:utm_\w+|fbclid|gclid|zarsrc|_ga|mc_cid|mc_eid)$", re.I)
_SESSION = re.compile(r"^(?:jsessionid|phpsessid|sid|sessionid|aspsessionid\w*)$", re.I)
_PRINT = re.compile(r"^(?:print|printable|viewmode|view_mode|output|template|tmpl)$", re.I)
_PATH_SESSION = re.compile(r";jsessionid=[^/?#]*", re.I)
# Liferay portlet state parameters: they change the rendering, not the article.
_LIFERAY_STATE = re.compile(r"^(?:p_p_\w+|_\d+_redirect|p_r_p_\w+|_\d+_struts_action)$")
_ARTICLE_PATH = re.compile(r"/-/view_content/\d+-|/-/asset_publisher/[^/]+/content/")
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
        and not (_PRINT.match(k) and v.lower() in {"1", "true", "print", "yes", "component"})
    ]
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:  # "http://host:abc/": keep what the page wrote rather than fail
        return url.strip().split("#", 1)[0]
    if port and port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    path = _PATH_SESSION.sub("", parts.path) or "/"
    rebuilt = urlunsplit((parts.scheme.lower(), host, path, urlencode(query), ""))
    return w3lib_canonicalize(rebuilt, keep_fragments=False)
