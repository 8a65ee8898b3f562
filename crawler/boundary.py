"""The crawl boundary: the sites a crawl may touch, and the downloader middleware that holds every
request to them.

A site is a `crawler.urls.site_key`: lower-case ASCII (IDNA) host without `www.`, with its port
when not the scheme's default, so `http://`, `https://`, `www.` and a Unicode spelling of the same
host are one site, and another port on the same machine is another site. Only http and https are
ever fetched.

`BoundaryMiddleware` replaces Scrapy's downloader `OffsiteMiddleware` and checks every request
before robots.txt or DNS: redirect hops (RedirectMiddleware, MetaRefreshMiddleware), retries,
robots.txt, attachment downloads, form posts and discovery requests alike, `dont_filter` or not.
It also keeps the crawl off private addresses (loopback, LAN, link-local, cloud metadata …)
unless the crawl itself started on one (a local mirror). A request sent through an HTTP(S) proxy is
not looked up here: the proxy resolves its host, so the guard then relies on the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.request import getproxies, proxy_bypass  # type: ignore[attr-defined]

from scrapy import Request
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import DNSLookupError
from w3lib.url import safe_url_string

from crawler.urls import ascii_host, exact_url, site_key

logger = logging.getLogger(__name__)

SCHEMES = frozenset({"http", "https"})
# Link schemes counted under their own name (`schedule/mailto` …); any other is `other_scheme`.
_NAMED_SCHEMES = frozenset({"mailto", "javascript", "tel"})

_DEFAULT_RESOLVER = "scrapy.resolver.CachingThreadedResolver"

Resolver = Callable[[str], Awaitable[list[str]]]


def is_private_address(address: str) -> bool:
    """An address a public crawl has no business with: loopback, private (RFC 1918, ULA), link-local
    (169.254.169.254, the cloud metadata endpoint), multicast, reserved, unspecified, shared
    (100.64.0.0/10) — also spelled as an IPv4-mapped IPv6 address (::ffff:127.0.0.1)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _literal_address(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _is_local_name(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def is_local_host(host: str | None) -> bool:
    """`localhost` or a private/loopback IP literal: known local without a DNS look-up."""
    host = ascii_host(host or "")
    literal = _literal_address(host)
    return _is_local_name(host) or (literal is not None and is_private_address(literal))


def alias_site(alias: str) -> str:
    """The site of a registry alias or extra host: `host`, `host:port` or a URL (an IPv6 address
    bare, `[2001:db8::1]` or `[2001:db8::1]:8080`)."""
    if "://" in alias:
        return site_key(alias)
    if alias.count(":") > 1 and not alias.startswith("["):
        alias = f"[{alias}]"
    return site_key(f"http://{alias}/")


class Boundary:
    """The sites one crawl may touch: its start sites, registry aliases and extra hosts, and the
    site a start URL redirected to (added by the spider when the start page arrives)."""

    def __init__(self, start_urls: Iterable[str], aliases: Iterable[str] = ()) -> None:
        self.start_urls = tuple(start_urls)
        self.sites: set[str] = set()
        for url in self.start_urls:
            self.add(url)
        for alias in aliases:
            self.add_host(alias)

    def add(self, url: str) -> None:
        """Let the crawl onto `url`'s site (an http(s) URL; anything else is ignored)."""
        if urlsplit(url.strip()).scheme.lower() in SCHEMES:
            self.sites.add(site_key(url))

    def add_host(self, alias: str) -> None:
        site = alias_site(alias)
        if site:
            self.sites.add(site)

    @property
    def start_hosts(self) -> list[str]:
        """Host names of the start URLs as Scrapy will resolve them (the private-address guard asks
        about them)."""
        return list(dict.fromkeys(resolved_name(u) for u in self.start_urls))

    def domains(self) -> list[str]:
        """The sites without ports, in Scrapy's `allowed_domains` form (for code that reads it):
        an IPv6 address without its brackets, as Scrapy compares it with a URL's hostname."""
        return sorted({_site_host(site) for site in self.sites})

    def allows(self, url: str) -> bool:
        return self.link_kind(url) is None

    def link_kind(self, url: str) -> str | None:
        """None when the crawl may follow `url`; else why not: `offsite`, `mailto`, `javascript`,
        `tel`, `other_scheme` or `bad_url`."""
        text = url.strip()
        scheme, colon, _ = text.partition(":")
        if colon and scheme.lower() in _NAMED_SCHEMES:
            return scheme.lower()
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 — raises on "http://host:abc/"
        except ValueError:
            return "bad_url"
        if parts.scheme.lower() not in SCHEMES:
            return "other_scheme" if parts.scheme else "bad_url"
        host = ascii_host(parts.hostname or "")
        if not host or not host.isascii():
            return "bad_url"
        return None if site_key(text) in self.sites else "offsite"


def _site_host(site: str) -> str:
    """`portal.gov.vn:8080` → `portal.gov.vn`; `[2001:db8::1]:8080` → `2001:db8::1`."""
    if site.startswith("["):
        return site[1:].partition("]")[0]
    return site.rsplit(":", 1)[0]


def resolved_name(url: str) -> str:
    """The host name Scrapy resolves for `url`: the hostname of the request URL it builds
    (IDNA-encoded, lower case, a trailing dot kept), the name a DNS pin must be filed under."""
    url = url.strip()
    with contextlib.suppress(ValueError):  # a port that is no number: no request is made for it
        url = safe_url_string(url)
    return urlsplit(url).hostname or ""


class BoundaryRefusal(IgnoreRequest):
    """A request the boundary refused; `reason` is the reject reason, `chain` the URLs that led
    here (the URL we asked for first)."""

    def __init__(self, reason: str, chain: list[str], detail: str = "") -> None:
        self.reason = reason
        self.chain = chain
        path = " -> ".join(chain)
        super().__init__(f"{reason}: {path}" + (f" ({detail})" if detail else ""))

    @property
    def asked_url(self) -> str:
        return self.chain[0]


async def resolve_host(host: str) -> list[str]:
    """The addresses `host` resolves to, looked up on the running asyncio loop (Scrapy's asyncio
    reactor runs one) so the crawl does not block."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _pin_address(host: str, addresses: list[str]) -> None:
    """Hand a checked address to Scrapy's default DNS cache under the exact name Scrapy will
    resolve (`resolved_name`), so the connection goes where the guard looked (no second look-up
    that a rebinding DNS server could answer differently).

    That cache (`scrapy.resolver.CachingThreadedResolver`) holds one address string per name, and
    its own look-up is IPv4 only (`gethostbyname`): the first IPv4 address is pinned. A host with
    IPv6 addresses only gets its first IPv6 address pinned: Twisted's connector sees an IPv6
    literal and connects over IPv6, where Scrapy's own look-up would fail as a DNS error."""
    from scrapy.resolver import dnscache

    address = next((a for a in addresses if ":" not in a), addresses[0])
    if dnscache.limit and host not in dnscache:
        dnscache[host] = address


class BoundaryMiddleware(OffsiteMiddleware):
    """Scrapy's OffsiteMiddleware, made strict: every request is checked in `process_request`, so a
    refusal reaches the request's errback (and becomes a reject); `request_scheduled`, where the
    parent filters and drops requests silently, checks nothing.

    Reasons: `offsite_redirect` (a redirect or meta refresh hop off the boundary, or a 3xx whose
    Location is not http(s)), `redirect_loop`, `offsite` (any other request off the boundary),
    `private_address`. A host that does not resolve fails here as a DNS error, without a second
    look-up by the downloader; a failed look-up is not remembered (a retry looks up again).
    A request through an HTTP(S) proxy (`meta['proxy']`, or HttpProxyMiddleware's environment
    proxies) is not looked up: only a host written as a private IP or `localhost` is refused."""

    def __init__(self, stats: Any, resolve: Resolver | None = None, dns_timeout: float = 60.0) -> None:
        super().__init__(stats)
        self.resolve = resolve or resolve_host
        self.dns_timeout = dns_timeout
        self.pin = False
        # Schemes HttpProxyMiddleware (which runs after this one) will send through a proxy.
        self.proxy_schemes: frozenset[str] = frozenset()
        self._lookups: dict[str, asyncio.Future[list[str]]] = {}
        self._guard_on: asyncio.Future[bool] | None = None
        self._proxy_noted = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> BoundaryMiddleware:
        middleware = super().from_crawler(crawler)
        middleware.dns_timeout = crawler.settings.getfloat("DNS_TIMEOUT", 60.0)
        # Pinning writes Scrapy's default resolver's cache, whose entries are one IPv4 string.
        settings = crawler.settings
        middleware.pin = (
            settings.getbool("DNSCACHE_ENABLED")
            and settings.get("TWISTED_DNS_RESOLVER") == _DEFAULT_RESOLVER
            and (settings.getpriority("DNS_RESOLVER") or 0) <= SETTINGS_PRIORITIES["default"]  # deprecated twin unset
        )
        if settings.getbool("HTTPPROXY_ENABLED"):
            middleware.proxy_schemes = frozenset(getproxies()) & SCHEMES
        return middleware

    def request_scheduled(self, request: Request, spider: Any = None) -> None:
        """Nothing: a request refused here would never reach its errback (see the class)."""

    def _boundary(self) -> Boundary | None:
        return getattr(self.crawler.spider, "boundary", None)

    async def process_request(self, request: Request) -> None:
        boundary = self._boundary()
        if boundary is None:  # another spider: Scrapy's own rules
            super().process_request(request)
            return
        hops: list[str] = list(request.meta.get("redirect_urls") or [])
        chain = [*hops, request.url]
        kind = boundary.link_kind(request.url)
        if hops:
            # A start URL too: http → https and bare → www stay on its site; a portal that moved
            # to another host is crawled by its new URL or with the host among its aliases.
            if kind is not None:
                self._refuse("offsite_redirect", chain, kind)
            # Exact URLs (session ids kept): /tin → /tin;jsessionid=… or /(S(…))/tin is a session
            # being set up, not a loop; http → https differs by scheme.
            target = exact_url(request.url)
            if any(exact_url(hop) == target for hop in hops):
                self._refuse("redirect_loop", chain)
        elif kind is not None:
            self._refuse("offsite", chain, kind)
        host = urlparse_cached(request).hostname or ""
        if self._proxied(request):
            self._note_proxy()
            if is_local_host(host) and not any(is_local_host(h) for h in boundary.start_hosts):
                self._refuse("private_address", chain, host)
            return
        if self.pin and ":" in host:
            _pin_address(host, [host])  # an IPv6 literal: Scrapy's IPv4-only look-up finds nothing for it
        if await self._guarded(boundary) and any(is_private_address(a) for a in await self._addresses(host)):
            self._refuse("private_address", chain, host)

    def _proxied(self, request: Request) -> bool:
        """Whether the request goes through an HTTP(S) proxy, decided as HttpProxyMiddleware
        decides: its `proxy` meta key, else the environment's proxy for its scheme and no_proxy."""
        if "proxy" in request.meta:
            return request.meta["proxy"] is not None
        parts = urlparse_cached(request)
        return parts.scheme in self.proxy_schemes and bool(parts.hostname) and not proxy_bypass(parts.hostname)

    def _note_proxy(self) -> None:
        if not self._proxy_noted:
            self._proxy_noted = True
            logger.info(
                "requests go through a proxy, which resolves their hosts: the private-address guard "
                "relies on the proxy for them (only private IPs and localhost written in a URL are refused)"
            )

    def process_response(self, request: Request, response: Response) -> Response:
        """A 3xx RedirectMiddleware did not follow because its Location is not http(s) (ftp:,
        file:, javascript:), or that leads off the boundary, is an off-site redirect too."""
        location = response.headers.get("Location")
        boundary = self._boundary()
        if not 300 <= response.status < 400 or not location or boundary is None:
            return response
        target = urljoin(request.url, safe_url_string(location))
        kind = boundary.link_kind(target)
        if kind is None:
            return response
        self._refuse("offsite_redirect", [*(request.meta.get("redirect_urls") or []), request.url, target], kind)
        return response  # not reached

    def _refuse(self, reason: str, chain: list[str], detail: str = "") -> None:
        self.stats.inc_value(f"boundary/{reason}")
        logger.debug("boundary refused %s: %s", reason, " -> ".join(chain))
        raise BoundaryRefusal(reason, chain, detail)

    async def _guarded(self, boundary: Boundary) -> bool:
        """The private-address guard is on unless the crawl started on a local or private host
        (decided once, by the first request)."""
        if self._guard_on is None:
            self._guard_on = asyncio.ensure_future(self._starts_public(boundary))
        return await self._guard_on

    async def _starts_public(self, boundary: Boundary) -> bool:
        for host in boundary.start_hosts:
            try:
                addresses = await self._addresses(host)
            except DNSLookupError:
                continue
            if any(is_private_address(a) for a in addresses):
                logger.info("the crawl starts on a local or private host (%s): private addresses are allowed", host)
                return False
        return True

    async def _addresses(self, host: str) -> list[str]:
        """The host's addresses, looked up once per crawl; a failed look-up is forgotten, so a later
        request (a retry) looks up again, while requests waiting on it share its failure."""
        literal = _literal_address(host.strip("[]"))
        if literal is not None:
            return [literal]
        if _is_local_name(ascii_host(host)):
            return ["127.0.0.1"]
        lookup = self._lookups.get(host)
        if lookup is None:
            lookup = self._lookups[host] = asyncio.ensure_future(self._lookup(host))
            lookup.add_done_callback(partial(self._forget_failure, host))
        return await lookup

    def _forget_failure(self, host: str, lookup: asyncio.Future[list[str]]) -> None:
        if (lookup.cancelled() or lookup.exception() is not None) and self._lookups.get(host) is lookup:
            del self._lookups[host]

    async def _lookup(self, host: str) -> list[str]:
        try:
            addresses = await asyncio.wait_for(self.resolve(host), self.dns_timeout)
        except (OSError, UnicodeError) as error:  # TimeoutError is an OSError
            self.stats.inc_value("boundary/dns_failed")
            raise DNSLookupError(f"{host}: {error}") from None
        if not addresses:
            raise DNSLookupError(f"{host}: no address")
        if self.pin:
            _pin_address(host, addresses)
        return addresses
