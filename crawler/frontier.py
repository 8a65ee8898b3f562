"""The crawl frontier: which links are fetched, under which URL and key, and what a fetch taught us.

The spider discovers links and parses pages; the frontier decides. It holds the link policy that
used to live in the spider (claims through the state, known and re-checked articles, paging streaks,
alternative URLs of an article) and remembers dead pages across runs, so a daily re-run does not
fetch every 404 again. It is plain Python over `crawler.state.CrawlState`: no Scrapy import, so it is
tested without a crawler. Settings come in as values (`FrontierSettings.from_settings` reads any
object with Scrapy's `getint`/`getbool`/`getlist`), stats go out through a `count(name, n=1)`
callable, and what counts as off the crawl's boundary is an injected `link_kind(url)`.

    frontier = Frontier(state, portal=..., scope=..., run_id=..., link_kind=..., count=...)
    decision = frontier.decide(url, "article", nav_depth=1)
    if decision.fetch: ...                            # the spider builds the request
    frontier.settle(decision.key, Outcome.dead("http_404"), url=url, role="article")
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

from crawler.dates import ICT
from crawler.state import CrawlState, DeadPage, KnownPage
from crawler.urls import canonical_key, canonicalize_url, url_too_long

# Links seen lately, a cheap first filter before asking the state (which is exact but costs a query).
RECENT_LINKS = 20_000
# Path suffixes that are never pages: Scrapy 2.19's IGNORED_EXTENSIONS (scrapy.linkextractors),
# copied so the frontier imports no Scrapy; tests/test_frontier.py checks the copy is current.
NON_HTML_EXTENSIONS = frozenset(
    "." + ext
    for ext in (
        "7z 7zip bz2 rar tar tar.gz xz zip mng pct bmp gif jpg jpeg png pst psp tif tiff ai drw dxf eps "
        "ps svg cdr ico webp mp3 wma ogg wav ra aac mid au aiff 3gp asf asx avi mov mp4 mpg qt rm swf "
        "wmv m4a m4v flv webm xls xlsm xlsx xltm xltx potm potx ppt pptm pptx pps doc docb docm docx "
        "dotm dotx odt ods odg odp css pdf exe bin rss dmg iso apk jar sh rb js hta bat cpl msi msp py"
    ).split()
)
# Fetch outcomes that say the page is gone or is not a page: not fetched again until a back-off passes.
DEAD_KINDS = frozenset({"http_404", "http_410", "non_html", "empty", "no_article", "offsite_redirect"})
# Deaths that count only for a URL linked as an article (a listing entry, a sitemap or feed item,
# an article id): a menu page without an article may be a hub whose links lead to the listings.
ARTICLE_ONLY_DEATHS = frozenset({"no_article"})
# Roles whose pages are never remembered dead: the crawl's entry points and the listings it pages.
NEVER_DEAD_ROLES = frozenset({"start", "listing"})

Status = Literal["new", "recheck", "known", "repeat", "dead", "skipped"]
Mode = Literal["first", "catch_up", "incremental", "full"]
LinkKind = Callable[[str], str | None]
Count = Callable[..., None]


def not_followed_stat(reason: str) -> str:
    """The stat a link not followed for `reason` is counted under (manifest `links_not_followed`)."""
    return f"schedule/{reason}"


def _now() -> datetime:
    return datetime.now(ICT)


def _as_datetime(value: str | None) -> datetime | None:
    """An ISO date or date-time (a date alone is midnight +07:00); None when unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ICT)


def changed_since(fetched_at: str | None, changed_at: str | None) -> bool:
    """A sitemap's lastmod later than the moment we last looked at the page."""
    changed, fetched = _as_datetime(changed_at), _as_datetime(fetched_at)
    return bool(changed and fetched and changed > fetched)


@dataclass(frozen=True)
class FrontierSettings:
    """The Scrapy settings the frontier obeys, as plain values."""

    full: bool = False  # FULL_CRAWL
    recheck_days: int = 7  # RECHECK_DAYS
    max_listing_pages: int = 500  # MAX_LISTING_PAGES
    stale_listing_pages: int = 3  # STALE_LISTING_PAGES
    incremental_stop_pages: int = 1  # INCREMENTAL_STOP_PAGES
    dead_page_backoff_days: tuple[int, ...] = (7, 14, 28)  # DEAD_PAGE_BACKOFF_DAYS
    max_alternatives: int = 4
    url_length_limit: int = 2083  # URLLENGTH_LIMIT (0: none)

    @classmethod
    def from_settings(cls, settings: Any) -> FrontierSettings:
        """Read from Scrapy settings (or anything with getbool/getint/getlist)."""
        raw = [str(days).strip() for days in settings.getlist("DEAD_PAGE_BACKOFF_DAYS", [7, 14, 28])]
        if not raw or not all(days.isdigit() for days in raw):
            raise ValueError(
                f"DEAD_PAGE_BACKOFF_DAYS must list whole days, e.g. -s DEAD_PAGE_BACKOFF_DAYS=7,14,28, not {raw!r}"
            )
        backoff = tuple(int(days) for days in raw)
        return cls(
            full=settings.getbool("FULL_CRAWL"),
            recheck_days=settings.getint("RECHECK_DAYS", 7),
            max_listing_pages=settings.getint("MAX_LISTING_PAGES", 500),
            stale_listing_pages=settings.getint("STALE_LISTING_PAGES", 3),
            incremental_stop_pages=settings.getint("INCREMENTAL_STOP_PAGES", 1),
            dead_page_backoff_days=backoff,
            url_length_limit=settings.getint("URLLENGTH_LIMIT", 2083),
        )

    def backoff(self, deaths: int) -> timedelta:
        """How long the `deaths`-th death in a row keeps a page unfetched (the last value repeats)."""
        days = self.dead_page_backoff_days
        return timedelta(days=days[min(max(deaths, 1), len(days)) - 1])


@dataclass(frozen=True)
class Decision:
    """What to do with one link: fetch it (`fetch`), or why not (`status`, and `reason` when the
    link is not followed at all and counted as `schedule/<reason>`)."""

    status: Status  # new | recheck | known | repeat (this run) | dead (back-off) | skipped
    url: str  # the URL to fetch: canonical for articles, as linked for other pages
    key: str | None = None
    role: str = "page"
    nav_depth: int = 0
    listing_page: int = 0
    priority: int = 0
    # A re-check's conditional GET headers (If-None-Match / If-Modified-Since), from the last fetch.
    validators: Mapping[str, str] = field(default_factory=dict)
    reason: str | None = None

    @property
    def fetch(self) -> bool:
        return self.status in ("new", "recheck")

    @property
    def recheck(self) -> bool:
        return self.status == "recheck"


@dataclass(frozen=True)
class Outcome:
    """What a fetch gave: a record, a dead page (with the reject kind), or a transient failure
    (timeout, 5xx, DNS …) that says nothing about the page itself."""

    status: Literal["record", "dead", "transient"]
    reason: str | None = None

    @classmethod
    def record(cls) -> Outcome:
        return cls("record")

    @classmethod
    def alive(cls) -> Outcome:
        """A page that gave no record but is no dead end (a listing, a pager)."""
        return cls("alive")

    @classmethod
    def dead(cls, reason: str) -> Outcome:
        return cls("dead", reason)

    @classmethod
    def of_kind(cls, kind: str) -> Outcome:
        """A reject kind (`http_404`, `timeout`, `non_html` …) as an outcome."""
        return cls("dead", kind) if kind in DEAD_KINDS else cls("transient", kind)


@dataclass(frozen=True)
class PagingPlan:
    """Whether a listing's pager is followed, how, the streaks its next pages carry, and the stat
    counted when it is not followed."""

    follow: bool
    one_at_a_time: bool = False
    stale_streak: int = 0
    known_streak: int = 0
    stat: str | None = None


def plan_paging(
    mode: Mode,
    seen: Mapping[str, int],
    settings: FrontierSettings,
    *,
    has_entries: bool,
    fresh: bool,
    has_pagination: bool,
    has_postbacks: bool,
    listing_page: int,
    stale_streak: int = 0,
    known_streak: int = 0,
) -> PagingPlan:
    """Whether to follow a listing page's pager, given what its entries were (`seen`: decisions by
    status) and the streaks the page inherited.

    A chain of listing pages ends after a few pages in a row add no article (an endless calendar, or
    a listing a sitemap already covered); one stale page alone does not end it, so articles older
    than an incomplete sitemap are still reached. On an incremental run it ends sooner: at the first
    page(s) holding only articles earlier runs recorded (or found dead). `fresh` is False when the
    `since` filter dropped every entry."""
    # A page further down a chain that lists nothing (a calendar's empty day) adds no article either.
    no_new = (has_entries or listing_page > 0) and not seen.get("new", 0)
    from_earlier_runs = seen.get("known", 0) + seen.get("recheck", 0) + seen.get("dead", 0)
    if mode in ("first", "catch_up") and from_earlier_runs:
        no_new = False  # a killed or cut-short run left articles further down: keep paging
    streak = stale_streak + 1 if no_new else 0
    known = known_streak + 1 if no_new and from_earlier_runs else 0
    stop_at_known = mode == "incremental" and known >= settings.incremental_stop_pages
    paging = fresh and streak < settings.stale_listing_pages and not stop_at_known
    has_pager = has_pagination or has_postbacks
    if has_pager and paging:
        if listing_page + 1 >= settings.max_listing_pages:
            return PagingPlan(False, stat="guard/listing_page_limit")
        # An incremental run walks a listing one page at a time (the pager's first page not yet
        # fetched), so it can stop at the first page of known articles; a first run follows the
        # whole pager window at once.
        return PagingPlan(True, one_at_a_time=mode == "incremental", stale_streak=streak, known_streak=known)
    if has_pager and stop_at_known:
        return PagingPlan(False, stat="incremental/pagination_stopped")
    if has_pagination and not fresh:
        return PagingPlan(False, stat="since/pagination_stopped")
    if has_pager:
        return PagingPlan(False, stat="guard/pagination_without_new_articles")
    return PagingPlan(False)


def crawl_mode(state: CrawlState, portal: str, full: bool) -> Mode:
    """How this run treats what earlier runs of the portal learned."""
    if full:
        return "full"
    if state.portal_is_current(portal):
        # An earlier run walked every listing to its end and the last one finished: stop paging at
        # known articles.
        return "incremental"
    if not state.portal_has_runs(portal):
        return "first"
    # The last run was cut short (killed, paused, max_items, since): walk every listing again, but
    # fetch only articles the state does not hold yet.
    return "catch_up"


class RecentLinks:
    """Links seen lately and what was decided for them (bounded): the same menu and listing links
    repeat on every page, and a repeat of an article earlier runs recorded still counts as known."""

    def __init__(self, size: int = RECENT_LINKS) -> None:
        self.size = size
        self._links: OrderedDict[str, Status] = OrderedDict()

    def get(self, link: str) -> Status | None:
        status = self._links.get(link)
        if status is not None:
            self._links.move_to_end(link)
        return status

    def put(self, link: str, status: Status) -> None:
        self._links[link] = status
        if len(self._links) > self.size:
            self._links.popitem(last=False)


def _unused_count(name: str, n: int = 1) -> None:
    """The default stat sink: counts go nowhere."""


def _bad_url(url: str) -> bool:
    try:
        urlsplit(url).port  # noqa: B018 — raises on "http://host:abc/"
    except ValueError:
        return True
    return False


class Frontier:
    """One run's link policy over the shared state (see the module docstring)."""

    def __init__(
        self,
        state: CrawlState,
        *,
        portal: str,
        scope: str,
        run_id: str,
        settings: FrontierSettings | None = None,
        link_kind: LinkKind | None = None,
        article_key: Callable[[str], str | None] | None = None,
        count: Count = _unused_count,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.state = state
        self.portal = portal
        self.scope = scope
        self.run_id = run_id
        self.settings = settings or FrontierSettings()
        # None for a link inside the crawl, else the not-followed reason (`offsite`, `mailto` …).
        self.link_kind: LinkKind = link_kind or (lambda url: None)
        # The platform's article id of a URL (same article under any category or print URL).
        self.article_key = article_key or (lambda url: None)
        self.count = count
        self.clock = clock
        self.recent = RecentLinks()
        self.mode: Mode = crawl_mode(state, portal, self.settings.full)

    # -- deciding -------------------------------------------------------------------------------

    def early_reason(self, url: str) -> str | None:
        """Why a link is not followed whatever the state says, or None: the checks that need no
        state, cheapest first (URL syntax, the crawl boundary, the file type)."""
        if _bad_url(url):
            return "bad_url"
        kind = self.link_kind(url)
        if kind is not None:
            return kind
        if url_too_long(url, self.settings.url_length_limit):  # Scrapy's UrlLengthMiddleware would drop it silently
            return "url_too_long"
        if PurePosixPath(urlsplit(url).path).suffix.lower() in NON_HTML_EXTENSIONS:
            return "non_html_link"
        return None

    def allows(self, url: str) -> bool:
        """Whether a discovery URL (sitemap, feed) is inside the crawl."""
        return self.link_kind(url) is None

    def decide(
        self, url: str, role: str, nav_depth: int, listing_page: int = 0, changed_at: str | None = None
    ) -> Decision:
        """Whether and how to fetch `url` (linked as `role`): new, recheck, known (recorded by an
        earlier run), dead (an earlier run found it gone; back-off not over), repeat (already
        scheduled in this run) or skipped (not followed: `reason`)."""
        earlier = self.recent.get(url)
        if earlier is not None and not (earlier in ("known", "dead") and changed_at):
            # The same link on another listing page: nothing to decide again (and cheap to skip).
            # A known article a sitemap now dates is decided again: it may have changed.
            status: Status = "known" if earlier in ("known", "recheck") else "dead" if earlier == "dead" else "repeat"
            return Decision(status, url, role=role, nav_depth=nav_depth)
        decision = self._decide(url, role, nav_depth, listing_page, changed_at)
        self.recent.put(url, decision.status)
        return decision

    def _decide(self, url: str, role: str, nav_depth: int, listing_page: int, changed_at: str | None) -> Decision:
        reason = self.early_reason(url)
        if reason is not None:
            self.count(not_followed_stat(reason))
            return Decision("skipped", url, role=role, nav_depth=nav_depth, reason=reason)
        known_article = self.article_key(url)
        if known_article is not None:
            role = "article"
        canonical = canonicalize_url(url)
        key = known_article or canonical_key(canonical)
        # Articles are fetched under their canonical URL; other pages as linked (paging parameters).
        target = canonical if role == "article" else url
        claimed = self.claim(key, canonical if role == "article" else None)
        # A page that gave a record is an article page, however it was linked (a menu link on a
        # site whose platform shows no article ids).
        remembered = role in ("article", "page") and not self.settings.full
        known = self.state.page(key) if remembered else None
        if not claimed:
            if role == "article":
                self.count("dedupe/article_urls_skipped")
                self.state.add_alternative(self.scope, key, canonical, self.settings.max_alternatives)
            if known is None and changed_at and remembered and self._reopened(key, changed_at):
                # Skipped as dead earlier in this run; a sitemap now dates it after its death.
                return Decision("new", target, key, role, nav_depth, listing_page, _priority(role))
            if known is None or known.last_run == self.run_id:
                return Decision("repeat", target, key, role, nav_depth)  # as stale as any repeat for paging
            if changed_since(known.last_fetched, changed_at):
                # Seen earlier in this run without a date (a feed, a listing); a sitemap now says it
                # changed since our last fetch.
                return self._recheck(target, key, role, nav_depth, known)
            return Decision("known", target, key, role, nav_depth)
        dead = self.state.dead_page(key) if remembered else None
        if dead is not None and self._still_dead(dead, changed_at):
            self.count(not_followed_stat("dead_backoff"))
            return Decision("dead", target, key, role, nav_depth, reason="dead_backoff")
        if dead is not None and changed_at:
            self.claim(f"reopen {key}")  # fetched now: a later sitemap entry must not reopen it again
        if known is None:
            return Decision("new", target, key, role, nav_depth, listing_page, _priority(role))
        if not self._worth_rechecking(known, changed_at):
            self.count("incremental/skipped_seen")
            self.state.settle(self.scope, key)
            return Decision("known", target, key, role, nav_depth)
        return self._recheck(target, key, role, nav_depth, known)

    def _still_dead(self, dead: DeadPage, changed_at: str | None) -> bool:
        """A page an earlier run found dead stays unfetched until its back-off is over, unless a
        sitemap dates it after its last death. A death in this run never blocks (another URL of
        the same article may still give it)."""
        if dead.last_run == self.run_id:
            return False
        retry_at = _as_datetime(dead.retry_at)
        due = retry_at is None or self.clock() >= retry_at
        return not due and not changed_since(dead.last_dead, changed_at)

    def _reopened(self, key: str, changed_at: str) -> bool:
        """A page skipped as dead in this run that a sitemap dates after its death: fetch it, once."""
        dead = self.state.dead_page(key)
        return (
            dead is not None
            and dead.last_run != self.run_id
            and changed_since(dead.last_dead, changed_at)
            and self.claim(f"reopen {key}")
        )

    def _recheck(self, url: str, key: str, role: str, nav_depth: int, known: KnownPage) -> Decision:
        """Fetch a known article again, once per run, conditionally when the server gave validators."""
        if not self.claim(f"recheck {key}"):
            return Decision("known", url, key, role, nav_depth)
        self.count("incremental/rechecked")
        validators = {}
        if known.etag:
            validators["If-None-Match"] = known.etag
        if known.last_modified:
            validators["If-Modified-Since"] = known.last_modified
        return Decision("recheck", url, key, role, nav_depth, 0, _priority(role), validators)

    def _worth_rechecking(self, known: KnownPage, changed_at: str | None) -> bool:
        """Young articles are re-checked (they still get edited); so is one a sitemap says changed."""
        return known.is_young(self.settings.recheck_days, self.clock()) or changed_since(known.last_fetched, changed_at)

    def key_of(self, url: str) -> str:
        """The page identity the frontier schedules `url` under: its platform article id, else its
        canonical key."""
        return self.article_key(url) or canonical_key(canonicalize_url(url))

    def arrived(self, url: str) -> None:
        """A redirect landed on `url`: it is scheduled in this run too, so a link to it (its print
        view, another category) is a repeat, not a second fetch of the same page."""
        self.claim(self.key_of(url))
        self.recent.put(url, "repeat")

    def claim(self, key: str, url: str | None = None) -> bool:
        """Schedule `key` once per run (a page key, `discovery <url>`, a postback): True the first time."""
        return self.state.claim(self.scope, key, url)

    def alternative(self, key: str | None, nav_depth: int) -> Decision | None:
        """The article's page gave no record: another URL the same article was linked under, if any."""
        url = self.state.next_alternative(self.scope, key) if key else None
        if url is None:
            return None
        self.count("dedupe/alternative_url_tried")
        return Decision("new", url, key, "article", nav_depth, 0, _priority("article"))

    # -- after a fetch --------------------------------------------------------------------------

    def settle(self, key: str | None, outcome: Outcome, *, url: str = "", role: str = "") -> None:
        """Learn from a fetch of `key`: a record makes its alternative URLs moot and forgets it as
        dead; a dead page (not a listing or start URL) waits out a back-off before it is fetched
        again; a transient failure teaches nothing."""
        if not key:
            return
        if outcome.status == "record":
            self.state.settle(self.scope, key)
            self.state.forget_dead(key)
        elif outcome.status == "alive":
            self.state.forget_dead(key)  # back from the dead: a later death starts the back-off anew
        elif (
            outcome.status == "dead"
            and role not in NEVER_DEAD_ROLES
            and not (outcome.reason in ARTICLE_ONLY_DEATHS and role != "article")
        ):
            self._remember_dead(key, url, outcome.reason or "dead")

    def _remember_dead(self, key: str, url: str, reason: str) -> None:
        earlier = self.state.dead_page(key)
        if earlier is not None and earlier.last_run == self.run_id:
            deaths = earlier.deaths  # another URL of the same article died too: one death per run
        else:
            deaths = (earlier.deaths if earlier else 0) + 1
            self.count("frontier/dead_remembered")
        now = self.clock()
        self.state.remember_dead(
            key,
            portal=self.portal,
            url=url,
            reason=reason,
            deaths=deaths,
            at=now.isoformat(timespec="seconds"),
            retry_at=(now + self.settings.backoff(deaths)).isoformat(timespec="seconds"),
            run_id=self.run_id,
        )


def _priority(role: str) -> int:
    return {"article": 20, "listing": 10}.get(role, 0)
