"""The `portal` spider: discovers and schedules; parsing is the platform parsers' job.

    scrapy crawl portal -a portal=<slug>      # a registry portal
    scrapy crawl portal -a url=<start URL>    # any site (platform detected per page)

Every option of `crawler crawl` is a spider argument, turned into the setting the components read
(SPIDER_ARGUMENT_SETTINGS), so `scrapy crawl`, Scrapyd and `crawler crawl` run the same crawl:
since, max_items, full, state, out (the run folder), log_file, attachments, drop_duplicates,
delay and export (destinations, comma-separated). It stays on the start host, follows listings and
their pagination to article pages, fetches each article once (also when it is linked from another
category or as a print view), and reports every page that yields no record with a reason.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

import crawler as crawler_package
from crawler.boundary import Boundary, BoundaryRefusal
from crawler.dates import parse_vietnamese_date
from crawler.decoding import decode_html
from crawler.discovery import DiscoveryError, Entry, parse_feed, parse_sitemap, robots_sitemaps
from crawler.frontier import Decision, Frontier, FrontierSettings, Outcome, plan_paging
from crawler.items import record_context
from crawler.middlewares import download_failure_kind, failure_detail
from crawler.platforms import article_key, parse_page
from crawler.platforms.page import ParsedPage
from crawler.registry import PortalEntry, RegistryError, load_registry, use_portals_files
from crawler.runs import frontier_scope, page_rejected, response_validators, run_id_for
from crawler.state import CrawlState, state_for
from crawler.urls import site_key, url_key, url_too_long

# Which code a run used, logged at its start: under Scrapyd the deployed egg
# (<eggs_dir>/<project>/<version>.egg/crawler), not whatever checkout the server's Python also sees.
CODE_LOCATION = Path(crawler_package.__file__).parent


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


class SpiderArgumentError(ValueError):
    """A spider argument a user typed is wrong; the message says what to do."""


# Spider argument → the setting every component reads. Given on the command line (`-a name=value`,
# Scrapyd's schedule.json, `crawler crawl`'s options), they take the command line's priority.
SPIDER_ARGUMENT_SETTINGS = {
    "since": "CRAWL_SINCE",
    "max_items": "MAX_ITEMS",
    "full": "FULL_CRAWL",
    "state": "STATE_PATH",
    "out": "RUN_DIR",
    "log_file": "LOG_FILE",
    "attachments": "DOWNLOAD_ATTACHMENTS",
    "drop_duplicates": "DROP_DUPLICATES",
    "delay": "DOWNLOAD_DELAY",
    "export": "EXPORTS",
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _flag(name: str, value: Any) -> bool:
    text = str(value).strip().lower()
    if text not in _TRUE | _FALSE:
        raise SpiderArgumentError(f"{name} takes true or false (or 1 or 0), not {value!r}")
    return text in _TRUE


def _refuse_unknown_arguments(arguments: dict[str, Any]) -> None:
    """A misspelt argument (`-a max-items=1`) would be ignored and the crawl run without it. Names
    starting with `_` are the scheduler's own (Scrapyd's `_job`)."""
    known = ("portal", "url", *SPIDER_ARGUMENT_SETTINGS)
    for name in arguments:
        if name.startswith("_") or name in ("name",):
            continue
        close = difflib.get_close_matches(name.replace("-", "_"), known, n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; the arguments are {', '.join(known)}"
        raise SpiderArgumentError(f"unknown spider argument {name!r}{hint}")


def check_exports(destinations: list[str]) -> None:
    """Each export destination opened and dropped before crawling: a wrong suffix, an unwritable
    folder or an unreachable database is one line now, not after the crawl."""
    from crawler.sinks import Selection, SinkError, open_sink

    for dest in destinations:
        try:
            sink = open_sink(dest)
            try:
                sink.resume_after(Selection("check"))  # a database is reached, its table checked or made
            finally:
                sink.close(ok=False)
        except SinkError as error:
            raise SpiderArgumentError(f"export: {error}") from None


def argument_settings(arguments: dict[str, Any]) -> dict[str, Any]:
    """The settings the spider arguments stand for, checked (SpiderArgumentError with one line)."""
    found: dict[str, Any] = {}
    for name, value in arguments.items():
        if value is None or name not in SPIDER_ARGUMENT_SETTINGS:
            continue
        setting = SPIDER_ARGUMENT_SETTINGS[name]
        if name == "since":
            try:
                value = date.fromisoformat(str(value)).isoformat() if value != "" else None
            except ValueError:
                raise SpiderArgumentError(f"since must be YYYY-MM-DD, not {value!r}") from None
        elif name == "max_items":
            try:
                value = int(value) if value != "" else None
            except ValueError:
                raise SpiderArgumentError(f"max_items must be a whole number, not {value!r}") from None
            if value is not None and value < 1:
                raise SpiderArgumentError(f"max_items must be at least 1, not {value!r}")
        elif name in ("full", "attachments", "drop_duplicates"):
            value = value if isinstance(value, bool) else _flag(name, value)
        elif name == "delay":
            try:
                value = float(value)
            except ValueError:
                raise SpiderArgumentError(f"delay must be a number of seconds, not {value!r}") from None
        elif name == "export":
            value = (
                [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else list(value)
            )
        if value is not None:
            found[setting] = value
    return found


def _stat_key(reason: str) -> str:
    """A stats key for a short reason ("body too short" → "body_too_short")."""
    return "_".join(re.findall(r"[a-z0-9]+", reason.split("(")[0].lower())) or "other"


def failure_kind(failure: Failure) -> str:
    """A short name for why a request failed: http_404, dns, timeout, connection_reset, too_large …
    An IgnoreRequest carrying a `reason` (our boundary and retry budgets) names its own."""
    from scrapy.exceptions import IgnoreRequest
    from scrapy.spidermiddlewares.httperror import HttpError

    if failure.check(IgnoreRequest) and str(failure.value) == "max redirections reached":
        return "too_many_redirects"
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    return download_failure_kind(failure.value) or type(failure.value).__name__


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(self, portal: str | None = None, url: str | None = None, **kwargs: Any) -> None:
        options = {name: kwargs.pop(name) for name in list(kwargs) if name in SPIDER_ARGUMENT_SETTINGS}
        _refuse_unknown_arguments(kwargs)
        super().__init__(**kwargs)
        self.argument_settings = argument_settings(options)
        self.entry: PortalEntry | None = None
        if portal:
            self.entry = load_registry().get(portal)
            if self.entry is None:
                raise SpiderArgumentError(f"unknown portal '{portal}': run `crawler portals` to list them")
            self.start_urls = list(self.entry.start_urls)
            self.platform = None if self.entry.platform == "unknown" else self.entry.platform
        elif url:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise SpiderArgumentError(f"not an http(s) URL: {url!r}")
            self.start_urls = [url]
            self.platform = None
        else:
            raise SpiderArgumentError("give -a portal=<slug> or -a url=<start URL>")
        self.portal_name = self.entry.slug if self.entry else site_key(self.start_urls[0])
        self.boundary = Boundary(self.start_urls, (self.entry.domain, *self.entry.aliases) if self.entry else ())
        since = self.argument_settings.get("CRAWL_SINCE")
        self.since: date | None = date.fromisoformat(since) if since else None
        self.max_items: int | None = self.argument_settings.get("MAX_ITEMS")
        # Start URLs that gave nothing to crawl, {url, reason}: the manifest's `start_failures`.
        self.start_failures: list[dict[str, str]] = []
        self.state_portal = self.entry.slug if self.entry else site_key(self.start_urls[0])
        self.crawl_mode = "full"

    @property
    def allowed_domains(self) -> list[str]:
        """The boundary's hosts in Scrapy's form, for code that reads `allowed_domains`; the
        boundary (`crawler.boundary`) is what decides."""
        return self.boundary.domains()

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PortalSpider:
        try:
            # Portals of PORTALS_FILE join the packaged registry before `portal=` is looked up.
            use_portals_files(crawler.settings.get("PORTALS_FILE"))
            load_registry()
        except RegistryError as error:
            raise SpiderArgumentError(str(error)) from None
        spider = super().from_crawler(crawler, *args, **kwargs)
        for name, value in spider.argument_settings.items():
            crawler.settings.set(name, value, priority="cmdline")
        spider.apply_option_settings(crawler.settings)
        check_exports(crawler.settings.getlist("EXPORTS"))
        if spider.entry is not None:
            # Portal quirks from the registry (legacy TLS, longer timeouts …); the command line still wins.
            for name, value in spider.entry.settings:
                crawler.settings.set(name, value, priority="spider")
        for host in crawler.settings.getlist("BOUNDARY_EXTRA_HOSTS"):
            spider.boundary.add_host(host)
        if all(_is_loopback(urlsplit(url).hostname) for url in spider.start_urls):
            # A mirror on this machine needs no politeness delay; remote hosts always get one.
            # Spider priority: a --delay / -s given on the command line still wins.
            crawler.settings.set("DOWNLOAD_DELAY", 0.0, priority="spider")
            concurrency = crawler.settings.getint("LOOPBACK_CONCURRENCY", 8)
            crawler.settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", concurrency, priority="spider")
        spider.bind_state(state_for(crawler), frontier_scope(crawler), run_id_for(crawler))
        return spider

    def apply_option_settings(self, settings: Any) -> None:
        """Read the crawl's options from the settings, whoever set them (spider arguments, `-s`,
        Scrapyd), and fill in what follows from them."""
        since = settings.get("CRAWL_SINCE")
        try:
            self.since = date.fromisoformat(str(since)) if since else None
        except ValueError:
            raise SpiderArgumentError(f"CRAWL_SINCE must be YYYY-MM-DD, not {since!r}") from None
        self.max_items = settings.getint("MAX_ITEMS") or None
        if settings.getbool("DOWNLOAD_ATTACHMENTS") and not settings.get("FILES_STORE"):
            # Beside the run when its folder was chosen, else one store shared by runs (files are
            # named by their hash, so a file found again is stored once).
            out = self.argument_settings.get("RUN_DIR")
            store = Path(out) / "files" if out else Path(settings.get("OUTPUT_ROOT", "output")) / "files"
            settings.set("FILES_STORE", str(store.resolve()), priority="spider")

    def bind_state(self, crawl_state: CrawlState, scope: str, run_id: str) -> None:
        """Use the persistent state: the run's frontier, and what earlier runs already recorded."""
        self.crawl_state = crawl_state
        self.scope = scope
        self.run_id = run_id
        self.frontier = Frontier(
            crawl_state,
            portal=self.state_portal,
            scope=scope,
            run_id=run_id,
            settings=self._frontier_settings(),
            link_kind=self.boundary.link_kind,
            article_key=lambda url: article_key(url, self.platform),
            count=self._count,
        )
        self.crawl_mode = self.frontier.mode

    def _frontier_settings(self) -> FrontierSettings:
        from crawler.checks import Thresholds

        try:
            Thresholds.from_settings(self.crawler.settings)  # a bad CHECK_* now, not when the run ends
            return FrontierSettings.from_settings(self.crawler.settings)
        except ValueError as error:  # a malformed DEAD_PAGE_BACKOFF_DAYS: one line, not a traceback
            raise SpiderArgumentError(str(error)) from None

    def _count(self, name: str, n: int = 1) -> None:
        """The frontier's stat sink (the crawler's stats exist only once the crawl starts)."""
        self.crawler.stats.inc_value(name, n)

    async def start(self) -> Any:
        self.logger.info("crawler code: %s", CODE_LOCATION)
        limit = self.settings.getint("URLLENGTH_LIMIT")
        for url in self.start_urls:
            if url_too_long(url, limit):  # Scrapy's UrlLengthMiddleware would drop it silently
                self.crawler.stats.inc_value("errors/url_too_long")
                self._report(url, "url_too_long", f"{len(url)} characters, above URLLENGTH_LIMIT {limit}")
                self._start_failed(url, "url_too_long")
                continue
            decision = self.frontier.decide(url, "start", nav_depth=0)
            if decision.fetch:
                request = self.request_for(decision)
                request.meta["start_url"] = url  # kept through redirects and retries (role may change)
                yield request
            elif decision.reason is not None:  # a file, not a page; outside the boundary …
                self.crawler.stats.inc_value(f"errors/{decision.reason}")
                self._report(url, decision.reason, f"start URL not fetched ({decision.reason})")
                self._start_failed(url, decision.reason)
        # Sitemaps and feeds list articles newest first and reach those no menu links: use them first.
        for host_root in dict.fromkeys(f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in self.start_urls):
            yield scrapy.Request(
                f"{host_root}/robots.txt",
                callback=self.parse_robots,
                errback=self.on_discovery_error,
                meta={"role": "robots", "host_root": host_root},
                priority=40,
                dont_filter=True,
            )
        if self.entry is not None:
            for url in self.entry.sitemaps:
                yield self._discovery_request(url, "sitemap")
            for url in self.entry.feeds:
                yield self._discovery_request(url, "feed")

    # -- discovery --------------------------------------------------------------------------

    def _discovery_request(self, url: str, role: str, guess: bool = False) -> scrapy.Request | None:
        refused = self.boundary.link_kind(url)
        if refused is not None:
            self.crawler.stats.inc_value(f"discovery/{refused}_skipped")
            return None
        if url_too_long(url, self.settings.getint("URLLENGTH_LIMIT")):  # Scrapy would drop it silently
            self.crawler.stats.inc_value("discovery/url_too_long_skipped")
            return None
        if not self.frontier.claim(f"discovery {url}"):
            return None
        callback = self.parse_sitemap if role == "sitemap" else self.parse_feed
        return scrapy.Request(
            url, callback=callback, errback=self.on_discovery_error, meta={"role": role, "guess": guess}, priority=35
        )

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        sitemaps = robots_sitemaps(response.text if hasattr(response, "text") else "", response.url)
        self.crawler.stats.inc_value("discovery/robots_sitemaps", len(sitemaps))
        if not sitemaps:
            # No Sitemap: line: the conventional place is worth one request.
            sitemaps = [f"{response.meta['host_root']}/sitemap.xml"]
            guess = True
        else:
            guess = False
        for url in sitemaps:
            request = self._discovery_request(url, "sitemap", guess=guess)
            if request is not None:
                yield request

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        try:
            sitemap = parse_sitemap(response.body, response.url)
        except DiscoveryError as error:
            if not response.meta.get("guess"):
                self._report(response.url, "bad_sitemap", str(error))
            self.crawler.stats.inc_value("discovery/bad_sitemap")
            return
        self.crawler.stats.inc_value(f"discovery/sitemap_{sitemap.kind}")
        if sitemap.kind == "index":
            for entry in self._since_filter(sitemap.entries, "sitemap"):
                request = self._discovery_request(entry.url, "sitemap")
                if request is not None:
                    yield request
            return
        yield from self._discovered_articles(sitemap.entries, "sitemap")

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        try:
            entries = parse_feed(response.body, response.url)
        except DiscoveryError as error:
            self._report(response.url, "bad_feed", str(error))
            self.crawler.stats.inc_value("discovery/bad_feed")
            return
        self.crawler.stats.inc_value("discovery/feeds")
        yield from self._discovered_articles(entries, "feed")

    def _since_filter(self, entries: list[Entry], source: str) -> list[Entry]:
        if self.since is None:
            return entries
        kept = [e for e in entries if e.date is None or date.fromisoformat(e.date[:10]) >= self.since]
        if len(kept) < len(entries):
            self.crawler.stats.inc_value(f"since/{source}_entries_skipped", len(entries) - len(kept))
        return kept

    def _discovered_articles(self, entries: list[Entry], source: str) -> Iterator[scrapy.Request]:
        """Pages a sitemap or feed lists, newest first (higher priority), none older than `since`."""
        for rank, entry in enumerate(self._since_filter(entries, source)):
            request = self._request(
                entry.url, role="article", nav_depth=self.settings.getint("MAX_NAV_DEPTH", 2), changed_at=entry.date
            )
            if request is not None:
                self.crawler.stats.inc_value(f"discovery/urls_from_{source}")
                yield request.replace(priority=30 + max(0, 10 - rank // 100))

    def on_discovery_error(self, failure: Failure) -> None:
        request = failure.request
        kind = failure_kind(failure)
        if failure.check(BoundaryRefusal) or kind == "too_many_redirects":
            self._report_failure(failure, kind)  # a redirect off-site is news, even for robots.txt
            return
        if request.meta.get("role") == "robots" or request.meta.get("guess"):
            # A portal without robots.txt or sitemap.xml is normal, not an error.
            self.crawler.stats.inc_value(f"discovery/{request.meta.get('role')}_missing")
            return
        self._report_failure(failure, kind)

    # -- scheduling -------------------------------------------------------------------------

    def _request(
        self, url: str, *, role: str, nav_depth: int, listing_page: int = 0, changed_at: str | None = None
    ) -> scrapy.Request | None:
        """A request for `url` if the frontier decides to fetch it (see `Frontier.decide`)."""
        decision = self.frontier.decide(url, role, nav_depth, listing_page, changed_at)
        return self.request_for(decision) if decision.fetch else None

    def request_for(self, decision: Decision) -> scrapy.Request:
        """The Scrapy request of a fetch decision; a re-check is a conditional GET that accepts 304."""
        meta: dict[str, Any] = {
            "role": decision.role,
            "nav_depth": decision.nav_depth,
            "listing_page": decision.listing_page,
            "key": decision.key,
        }
        if decision.recheck:
            meta["recheck"] = True
            meta["handle_httpstatus_list"] = [304]
        return scrapy.Request(
            decision.url,
            callback=self.parse,
            errback=self.on_error,
            meta=meta,
            priority=decision.priority,
            headers=dict(decision.validators) or None,
        )

    def _next_alternative(self, meta: dict[str, Any]) -> Iterator[scrapy.Request]:
        """The article's page gave no record: try another URL the same article was linked under."""
        decision = self.frontier.alternative(meta.get("key"), meta.get("nav_depth", 0))
        if decision is not None:
            yield self.request_for(decision)

    def _settle(self, meta: dict[str, Any], url: str, kind: str) -> None:
        """Tell the frontier what a fetch gave: a record, or the reject kind (dead or transient)."""
        outcome = Outcome.record() if kind == "record" else Outcome.of_kind(kind)
        self.frontier.settle(meta.get("key"), outcome, url=url, role=meta.get("role", ""))

    # -- callbacks --------------------------------------------------------------------------

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Records and requests of one page. Not itself a generator: Scrapy re-reads the source of
        generator callbacks on every response (to warn about `return value`), which costs more than
        the parsing."""
        return self._parse_page(response)

    def _parse_page(self, response: Response) -> Iterator[Any]:
        stats = self.crawler.stats
        if not self.boundary.allows(response.url):
            # BoundaryMiddleware refuses such hops; should one get through, its page must never be
            # recorded (nor enter the state) under the identity of the URL we asked for.
            chain = [*response.meta.get("redirect_urls", []), response.url]
            stats.inc_value("errors/offsite_redirect")
            self._report(chain[0], "offsite_redirect", " -> ".join(chain))
            return
        if response.meta.get("redirect_urls"):
            self.frontier.arrived(response.url)
        if response.status == 304:
            # A re-checked article the server says is unchanged (conditional GET).
            stats.inc_value("incremental/not_modified")
            self.crawl_state.touch_page(response.meta["key"], response_validators(response))
            self._report(response.url, "not_modified", "unchanged since the last fetch (HTTP 304)")
            return
        content_type = response.headers.get("Content-Type", b"").decode("latin-1").lower()
        if content_type and "html" not in content_type and "xml" not in content_type:
            yield from self._no_record(response, "non_html", f"not an HTML page ({content_type})")
            return
        if not response.body.strip():
            yield from self._no_record(response, "empty", "empty response body")
            return
        html, encoding = decode_html(response.body, getattr(response, "encoding", None))
        encoding, _, legacy = encoding.partition("+")
        if legacy:  # TCVN3/VNI text converted on page-level evidence (crawler.legacy)
            stats.inc_value(f"decode/legacy_{legacy}")
        if encoding != (getattr(response, "encoding", "") or "").lower():
            stats.inc_value("decode/charset_overridden")
        try:
            page = parse_page(html, response.url, self.platform)
        except Exception as error:  # one bad page must not stop the crawl
            self.logger.exception("parser failed on %s", response.url)
            yield from self._no_record(response, "parse_error", f"{type(error).__name__}: {error}")
            return
        stats.inc_value(f"pages/{page.kind}")
        self._count_extraction(page)
        yield from self._unfollowed(page, response.meta.get("nav_depth", 0))
        if page.kind in ("empty", "refused"):
            yield from self._no_record(response, page.kind, page.reason or f"{page.kind} page", counted=True)
            return
        if page.record is not None:
            self._settle(response.meta, response.url, "record")
            record = page.record
            record.http_status = response.status
            if self.entry is not None:
                record.portal = self.entry.slug
            context = record_context(record)
            context.page_key = response.meta.get("key")
            context.validators = response_validators(response)
            yield record
            for url in page.links:
                request = self._request(url, role="article", nav_depth=response.meta.get("nav_depth", 0))
                if request is not None:
                    yield request
        else:
            if page.kind == "other":
                self._report(response.url, "no_article", page.reason or "no article on page")
                if not (page.entries or page.pagination or page.postbacks):
                    self._settle(response.meta, response.url, "no_article")
            if page.entries or page.pagination or page.postbacks:
                self.frontier.settle(response.meta.get("key"), Outcome.alive())
            if response.meta.get("role") == "article" and not response.meta.get("recheck"):
                yield from self._next_alternative(response.meta)
            yield from self._follow(response, page)

    def _count_extraction(self, page: ParsedPage) -> None:
        """Records by the parser that produced them, fallbacks to the generic reader and markup
        repairs by reason (the manifest's `extraction` block)."""
        stats = self.crawler.stats
        if page.record is not None:
            stats.inc_value(f"extract/parser/{page.record.parser.name}")
        if page.fallback:
            stats.inc_value(f"extract/fallback/{_stat_key(page.fallback)}")
        if page.repair:
            stats.inc_value(f"extract/repair/{_stat_key(page.repair)}")

    def _unfollowed(self, page: ParsedPage, nav_depth: int) -> Iterator[scrapy.Request]:
        """Links the parser left out (mailto:, javascript:, tel:, other hosts), each counted once by
        why it is not followed (`schedule/<kind>`); one to a site the boundary allows (a registry
        alias) is followed like a menu link."""
        follow = nav_depth < self.settings.getint("MAX_NAV_DEPTH", 2)
        for url in page.unfollowed:
            if follow or not self.boundary.allows(url):
                request = self._request(url, role="page", nav_depth=nav_depth + 1)
                if request is not None:
                    yield request

    def _follow(self, response: Response, page: ParsedPage) -> Iterator[scrapy.Request]:
        meta = response.meta
        nav_depth = meta.get("nav_depth", 0)
        listing_page = meta.get("listing_page", 0)
        seen: Counter[str] = Counter()
        fresh = not page.entries
        for entry in page.entries:
            if self.since and entry.date_raw:
                parsed = parse_vietnamese_date(entry.date_raw)
                if parsed and date.fromisoformat(parsed.iso[:10]) < self.since:
                    self.crawler.stats.inc_value("since/listing_entries_skipped")
                    continue
            fresh = True
            decision = self.frontier.decide(entry.url, "article", nav_depth)
            seen[decision.status] += 1
            if decision.fetch:
                yield self.request_for(decision)
        plan = plan_paging(
            self.frontier.mode,
            seen,
            self.frontier.settings,
            has_entries=bool(page.entries),
            fresh=fresh,
            has_pagination=bool(page.pagination),
            has_postbacks=bool(page.postbacks),
            listing_page=listing_page,
            stale_streak=meta.get("stale_streak", 0),
            known_streak=meta.get("known_streak", 0),
        )
        if plan.stat:
            self.crawler.stats.inc_value(plan.stat)
        if plan.follow:
            follow_meta = {"stale_streak": plan.stale_streak, "known_streak": plan.known_streak}
            for url in page.pagination:
                request = self._request(url, role="listing", nav_depth=nav_depth, listing_page=listing_page + 1)
                if request is not None:
                    request.meta.update(follow_meta)
                    yield request
                    if plan.one_at_a_time:
                        break
            for request in self._postbacks(response, page, nav_depth, listing_page):
                request.meta.update(follow_meta)
                yield request
        for url in page.feeds:
            request = self._discovery_request(url, "feed")
            if request is not None:
                yield request
        if nav_depth < self.settings.getint("MAX_NAV_DEPTH", 2):
            # Pager links are the paging logic's (with its guards), never menu links.
            pager = set(page.pagination)
            for url in page.links:
                if url in pager:
                    continue
                request = self._request(url, role="page", nav_depth=nav_depth + 1)
                if request is not None:
                    yield request

    def _postbacks(
        self, response: Response, page: ParsedPage, nav_depth: int, listing_page: int
    ) -> Iterator[scrapy.Request]:
        """WebForms pager links: replay the page's form (__VIEWSTATE …) with the link's event."""
        for target, argument in page.postbacks:
            key = f"{url_key(response.url)}#postback:{target}:{argument}"
            if not self.frontier.claim(key):
                continue
            try:
                request = scrapy.FormRequest.from_response(
                    response,
                    formdata={"__EVENTTARGET": target, "__EVENTARGUMENT": argument},
                    dont_click=True,
                    callback=self.parse,
                    errback=self.on_error,
                    dont_filter=True,
                    meta={"role": "listing", "nav_depth": nav_depth, "listing_page": listing_page + 1, "key": key},
                    priority=10,
                )
            except (ValueError, AttributeError) as error:  # no <form> to replay
                self._report(response.url, "postback_without_form", str(error))
                return
            refused = self.boundary.link_kind(request.url)
            if refused is not None:
                # Posting would send the page's __VIEWSTATE to another host: not built, not sent.
                self.crawler.stats.inc_value("errors/offsite_form")
                self._report(response.url, "offsite_form", f"form action {request.url} ({refused}); not posted")
                return
            self.crawler.stats.inc_value("schedule/postbacks")
            yield request

    def _no_record(self, response: Response, kind: str, reason: str, counted: bool = False) -> Iterator[Any]:
        if not counted:
            self.crawler.stats.inc_value(f"pages/{kind}")
        if response.meta.get("start_url"):
            self._start_failed(response.meta["start_url"], kind)
        self._report(response.url, kind, reason)
        self._settle(response.meta, response.url, kind)
        if response.meta.get("role") == "article":
            yield from self._next_alternative(response.meta)

    def _report(self, url: str, kind: str, reason: str) -> None:
        self.crawler.signals.send_catch_log(page_rejected, url=url, kind=kind, reason=reason)

    def _start_failed(self, url: str, kind: str) -> None:
        """A start URL gave nothing to crawl (its reject is written apart): listed in the manifest,
        counted `start/failed/<kind>` so `scrapy crawl` shows it too; `crawler crawl` exits
        non-zero when every start URL failed."""
        self.start_failures.append({"url": url, "reason": kind})
        self.crawler.stats.inc_value(f"start/failed/{kind}")

    def on_error(self, failure: Failure) -> Iterator[scrapy.Request]:
        """Report a failed request and try the article's next URL (not a generator: see `parse`)."""
        return self._failed(failure)

    def _report_failure(self, failure: Failure, kind: str) -> None:
        """A failed request's reject, filed against the URL we asked for when redirects led elsewhere."""
        self.crawler.stats.inc_value(f"errors/{kind}")
        request = failure.request
        hops = request.meta.get("redirect_urls") or []
        detail = failure_detail(failure.value, kind)[:300]
        if hops and not failure.check(BoundaryRefusal):  # a refusal's message names its chain
            detail = f"{detail} (via {' -> '.join([*hops, request.url])})"[:600]
        asked = hops[0] if hops else request.url
        self._report(asked, kind, detail)
        self._settle(request.meta, asked, kind)

    def _failed(self, failure: Failure) -> Iterator[scrapy.Request]:
        kind = failure_kind(failure)
        request = failure.request
        self._report_failure(failure, kind)
        if request.meta.get("start_url"):
            self._start_failed(request.meta["start_url"], kind)
        if request.meta.get("role") == "article" and not request.meta.get("recheck"):
            yield from self._next_alternative(request.meta)
