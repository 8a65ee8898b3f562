"""Retry and time budgets: one retry budget per URL whatever the cause, a time budget from its first
attempt, and the waits a struggling host asks for made by the host's downloader slot.

Scrapy's RetryMiddleware retries exceptions and RETRY_HTTP_CODES but knows neither Retry-After nor
time; a second middleware sleeping on Retry-After used to retry 429s on a budget of its own (six
attempts) and held one of CONCURRENT_REQUESTS while it slept. `BudgetRetryMiddleware` replaces both.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Self

from scrapy import Request, signals
from scrapy.core.downloader import Slot
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message

logger = logging.getLogger(__name__)

# Statuses by which a host says it is overloaded: its slot waits before anything more is sent.
SLOW_DOWN_STATUSES = frozenset({429, 503})
# Request meta: when the URL's first attempt started (this process's clock) and the last failure.
BUDGET_STARTED = "url_budget_started"
LAST_FAILURE = "retry_last_failure"
BUDGET_URL = "url_budget_url"
# A paused job (JOBDIR) resumes in another process: its monotonic clock means nothing there, so a
# request carried over starts a fresh time budget.
_PROCESS = uuid.uuid4().hex


def retry_after_seconds(value: bytes | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _postpone_budget(request: Request, seconds: float) -> None:
    """Start a URL's time budget `seconds` later (its host is made to wait before trying it)."""
    started = request.meta.get(BUDGET_STARTED)
    if started is not None and started[0] == _PROCESS:
        request.meta[BUDGET_STARTED] = (_PROCESS, started[1] + seconds)


class GaveUp(IgnoreRequest):
    """Our retry policy gave up a URL; `reason` is the reject reason, the message its detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class RetryAfterTooLong(GaveUp):
    """The server asked for a wait above RETRY_AFTER_MAX_SECONDS."""

    def __init__(self, detail: str) -> None:
        super().__init__("retry_after_too_long", detail)


class TimeBudgetExhausted(GaveUp):
    """Another attempt could not finish within URL_TIME_BUDGET. The reason is the host's last
    failure (`timeout`, `http_503` …: what to look at), or `time_budget_exhausted` when the host
    answered but asked for a wait longer than the budget has left; the detail says both."""


def download_failure_kind(error: BaseException) -> str | None:
    """The shared reason name for a download exception, None when it is none of ours."""
    from scrapy.exceptions import (
        CannotResolveHostError,
        DownloadCancelledError,
        DownloadConnectionRefusedError,
        DownloadFailedError,
        DownloadTimeoutError,
        ResponseDataLossError,
    )
    from scrapy.utils._compression import _DecompressionMaxSizeExceeded
    from twisted.internet import error as tx
    from twisted.web._newclient import ResponseNeverReceived

    reason = getattr(error, "reason", None)
    if isinstance(error, IgnoreRequest):
        if isinstance(reason, str) and reason:
            return reason
        if isinstance(error.__cause__, _DecompressionMaxSizeExceeded) or "DOWNLOAD_MAXSIZE" in str(error):
            return "too_large"  # HttpCompressionMiddleware: the decompressed body (a gzip bomb)
        if "robots.txt" in str(error):
            return "robots_disallowed"
        return None
    if isinstance(error, CannotResolveHostError | tx.DNSLookupError):
        return "dns"
    if isinstance(error, DownloadTimeoutError | tx.TimeoutError | tx.TCPTimedOutError):
        return "timeout"
    if isinstance(error, DownloadConnectionRefusedError | tx.ConnectionRefusedError):
        return "connection_refused"
    if isinstance(error, ResponseDataLossError):
        return "truncated"  # fewer bytes than Content-Length (DOWNLOAD_FAIL_ON_DATALOSS)
    if isinstance(error, DownloadCancelledError):
        # The HTTP handler cancels a download whose Content-Length or received bytes pass
        # DOWNLOAD_MAXSIZE; nothing else cancels a download while the crawl runs.
        return "too_large"
    if isinstance(
        error,
        DownloadFailedError | ResponseNeverReceived | tx.ConnectionLost | tx.ConnectionDone | tx.ConnectionAborted,
    ):
        return "connection_reset"  # the connection closed or was reset before the response was whole
    return None


_EMPTY_DETAILS = {
    "truncated": "the connection closed before the body reached its Content-Length",
    "too_large": "the body passed DOWNLOAD_MAXSIZE",
    "connection_reset": "the connection closed before the response was complete",
}


def failure_detail(error: BaseException, kind: str) -> str:
    """One readable line on a failure for rejects.jsonl (several Scrapy exceptions have no message,
    or a list of Twisted failures for one)."""
    reasons = getattr(error.__cause__, "reasons", None) or getattr(error, "reasons", None)
    if reasons:
        causes = "; ".join(
            f"{type(r.value).__name__}: {r.value}" if str(r.value) else type(r.value).__name__
            for r in reasons
            if hasattr(r, "value")
        )
        return f"{_EMPTY_DETAILS.get(kind, kind)} ({causes})"
    return str(error) or _EMPTY_DETAILS.get(kind, kind)


# Numeric settings our components read: (lowest allowed value, whole number?). A value given with
# -s must be a finite number in range; anything else stops the crawl before it starts.
NUMERIC_SETTINGS: dict[str, tuple[float, bool]] = {
    "DOWNLOAD_DELAY": (0, False),
    "DOWNLOAD_DELAY_JITTER": (0, False),
    "DOWNLOAD_TIMEOUT": (0.001, False),
    "URL_TIME_BUDGET": (0.001, False),
    "RETRY_AFTER_MAX_SECONDS": (0, False),
    "RETRY_BACKOFF_BASE": (0, False),
    "RETRY_BACKOFF_MAX": (0, False),
    "RETRY_TIMES": (0, True),
    "STATE_LEASE_SECONDS": (1, False),
    "DOWNLOAD_MAXSIZE": (0, True),
    "DOWNLOAD_WARNSIZE": (0, True),
    "URLLENGTH_LIMIT": (0, True),
    "CONCURRENT_REQUESTS": (1, True),
    "CONCURRENT_REQUESTS_PER_DOMAIN": (1, True),
    "LOOPBACK_CONCURRENCY": (1, True),
    "MAX_LISTING_PAGES": (1, True),
    "STALE_LISTING_PAGES": (1, True),
    "MAX_NAV_DEPTH": (0, True),
    "REDIRECT_MAX_TIMES": (0, True),
    "RECHECK_DAYS": (0, True),
    "INCREMENTAL_STOP_PAGES": (1, True),
    "NEAR_DUPLICATE_THRESHOLD": (0, False),
    "FUTURE_DATE_TOLERANCE_DAYS": (0, False),
}


class SettingsError(ValueError):
    """A numeric setting is out of range; the message is one line saying what to give instead."""


def check_numeric_settings(settings: BaseSettings) -> None:
    """Refuse inf, nan, negative or non-numeric values of the settings in NUMERIC_SETTINGS."""
    for name, (lowest, whole) in NUMERIC_SETTINGS.items():
        value = settings.get(name)
        if value is None:
            continue
        kind = "a whole number" if whole else "a finite number"
        try:
            number = float(value)
            valid = math.isfinite(number) and number >= lowest and (not whole or number == int(number))
        except (TypeError, ValueError):
            valid = False
        if not valid:
            bound = f"at least {lowest:g}" if lowest >= 1 or lowest == 0 else "above 0"
            raise SettingsError(f"setting {name} must be {kind} {bound}, not {value!r} (-s {name}=VALUE)")


@dataclass
class _SlotHold:
    """A downloader slot told to wait: its normal delay, to restore when the host answers normally,
    and how many slow-downs in a row it answered without saying how long to wait."""

    slot: Slot
    delay: float
    jitter: float
    until: float
    strikes: int = 0


class BudgetRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware with one budget per URL shared by every cause.

    - RETRY_TIMES retries in all: exceptions (RETRY_EXCEPTIONS) and RETRY_HTTP_CODES count alike.
    - 429/503 make the host's downloader slot wait — Retry-After when it is at most
      RETRY_AFTER_MAX_SECONDS, else RETRY_BACKOFF_BASE·2ⁿ up to RETRY_BACKOFF_MAX — so no request to
      that host, the retry included, is sent before then, while other hosts go on; the slot's own
      delay returns once the host answers normally. A Retry-After above the cap gives the URL up
      (`retry_after_too_long`).
    - No retry starts once it could not finish within URL_TIME_BUDGET of the URL's first attempt
      (its wait plus a whole DOWNLOAD_TIMEOUT).
    """

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.retry_after_cap = settings.getfloat("RETRY_AFTER_MAX_SECONDS", 120)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 2)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 30)
        self.time_budget = settings.getfloat("URL_TIME_BUDGET", 150)
        self.download_timeout = settings.getfloat("DOWNLOAD_TIMEOUT", 180)
        self.holds: dict[str, _SlotHold] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        check_numeric_settings(crawler.settings)
        middleware = super().from_crawler(crawler)
        middleware.warn_of_inconsistent_budgets()
        # Sent before the downloader hands the slot its next request: the wait is in place in time.
        crawler.signals.connect(middleware.response_downloaded, signal=signals.response_downloaded)
        return middleware

    def warn_of_inconsistent_budgets(self) -> None:
        """Budgets that silently cancel each other (a per-attempt timeout longer than the URL's
        whole budget never retries; a Retry-After cap above what the budget can wait never waits
        that long) are worth a line in the log."""
        if self.max_retry_times and self.download_timeout > self.time_budget / 2:
            logger.warning(
                "DOWNLOAD_TIMEOUT %gs leaves no room for a retry of a stalled URL within URL_TIME_BUDGET %gs",
                self.download_timeout,
                self.time_budget,
            )
        if self.retry_after_cap + self.download_timeout > self.time_budget:
            logger.warning(
                "RETRY_AFTER_MAX_SECONDS %gs: a wait longer than URL_TIME_BUDGET − DOWNLOAD_TIMEOUT (%gs) "
                "ends as time_budget_exhausted, not as a retry",
                self.retry_after_cap,
                self.time_budget - self.download_timeout,
            )

    # -- the host's slot --------------------------------------------------------------------

    def slow_down_wait(self, request: Request, response: Response) -> tuple[float, bool]:
        """(seconds the host's slot waits after this 429/503, whether the server asked for them).
        Unasked, the wait doubles with each slow-down in a row from the host, whatever URL got it."""
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        if asked is not None and asked <= self.retry_after_cap:
            return asked, True
        hold = self.holds.get(request.meta.get("download_slot", ""))
        strikes = max(request.meta.get("retry_times", 0), hold.strikes if hold is not None else 0)
        return min(self.backoff_base * 2**strikes, self.backoff_max), False

    def response_downloaded(self, response: Response, request: Request) -> None:
        key = request.meta.get("download_slot")
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        slot = downloader.slots.get(key) if downloader is not None and key is not None else None
        if slot is None:
            return
        if response.status in SLOW_DOWN_STATUSES:
            wait, asked = self.slow_down_wait(request, response)
            self.crawler.stats.inc_value("retry/retry_after_waits" if asked else "retry/backoff_waits")
            self._hold(key, slot, wait)
            if not asked:
                self.holds[key].strikes += 1
        else:
            self._release_if_over(key)

    def _release_if_over(self, key: str | None) -> None:
        """The host answered (or failed otherwise) after its wait: back to its own pace."""
        if key in self.holds and time.monotonic() >= self.holds[key].until:
            self._release(key)

    def _hold(self, key: str, slot: Slot, wait: float) -> None:
        """Nothing more goes to this slot's host before `wait` seconds from now. The downloader sends
        a slot's next request at lastseen + delay, so both are set (without jitter) to say so."""
        now = time.monotonic()
        hold = self.holds.get(key)
        if hold is None or hold.slot is not slot:  # a slot the downloader dropped and made again
            hold = self.holds[key] = _SlotHold(slot, slot.delay, slot.jitter, now)
        extension = max(now + wait, hold.until) - max(now, hold.until)
        hold.until = max(hold.until, now + wait)
        if extension > 0:
            # URLs already queued for this host wait too, for a reason not theirs: their time
            # budgets start that much later.
            for queued, _ in slot.queue:
                _postpone_budget(queued, extension)
        slot.jitter = 0.0
        slot.lastseen = now
        slot.delay = max(hold.until - now, hold.delay)

    def _release(self, key: str) -> None:
        """Back to the slot's own delay. A call the slot planned with the long delay is cancelled:
        the downloader looks at the slot's queue again as soon as this response is through."""
        hold = self.holds.pop(key)
        hold.slot.delay, hold.slot.jitter = hold.delay, hold.jitter
        hold.slot.close()

    def _slot_key(self, request: Request) -> str:
        """The downloader slot the request will wait in (before the downloader has named it)."""
        if "download_slot" in request.meta:
            return request.meta["download_slot"]
        try:
            return self.crawler.engine.downloader.get_slot_key(request)
        except RuntimeError:  # no engine yet: Scrapy's default key, the host name
            return urlparse_cached(request).hostname or ""

    def _slot_wait_left(self, request: Request, key: str | None = None) -> float:
        hold = self.holds.get(key if key is not None else request.meta.get("download_slot", ""))
        return max(0.0, hold.until - time.monotonic()) if hold is not None else 0.0

    # -- the URL's budgets ------------------------------------------------------------------

    def _elapsed(self, request: Request) -> float:
        process, started = request.meta.get(BUDGET_STARTED, (None, 0.0))
        return max(0.0, time.monotonic() - started) if process == _PROCESS else 0.0

    def _attempt_timeout(self, request: Request) -> float:
        return float(request.meta.get("download_timeout", self.download_timeout))

    def _check_budget(self, request: Request, kind: str, detail: str, wait: float, asked: bool) -> None:
        """Raise TimeBudgetExhausted when another attempt after `wait` could overrun the budget."""
        elapsed, attempt = self._elapsed(request), self._attempt_timeout(request)
        if elapsed + wait + attempt <= self.time_budget:
            return
        self.crawler.stats.inc_value("retry/time_budget_exhausted")
        attempts = request.meta.get("retry_times", 0) + 1
        reason = "time_budget_exhausted" if asked and elapsed + attempt <= self.time_budget else kind
        raise TimeBudgetExhausted(
            reason,
            f"{kind}: {detail}; time budget exhausted: {attempts} attempt(s) in {elapsed:.1f} s, another "
            f"(wait {wait:.1f} s + up to {attempt:g} s) would pass URL_TIME_BUDGET {self.time_budget:g} s",
        )

    def _retry_within_budgets(
        self, request: Request, kind: str, detail: str, wait: float = 0.0, asked: bool = False
    ) -> Request | None:
        max_times = request.meta.get("max_retry_times", self.max_retry_times)
        if request.meta.get("retry_times", 0) < max_times:
            self._check_budget(request, kind, detail, max(wait, self._slot_wait_left(request)), asked)
        retry = self._retry(request, kind)
        if retry is not None:
            retry.meta[LAST_FAILURE] = (kind, detail)
        return retry

    def process_request(self, request: Request) -> None:
        """Start the URL's clock at its first attempt (after any wait its host is under: that wait
        is not the URL's); a retry the queue kept too long gives up. A redirect's target is a URL of
        its own, with a budget of its own."""
        started = request.meta.get(BUDGET_STARTED)
        if started is not None and request.meta.get(BUDGET_URL, request.url) != request.url:
            for key in (BUDGET_STARTED, LAST_FAILURE, "retry_times"):
                request.meta.pop(key, None)
            started = None
        if started is None or started[0] != _PROCESS:
            host_wait = self._slot_wait_left(request, self._slot_key(request))
            request.meta[BUDGET_STARTED] = (_PROCESS, time.monotonic() + host_wait)
            request.meta[BUDGET_URL] = request.url
        elif LAST_FAILURE in request.meta and not request.meta.get("dont_retry"):
            kind, detail = request.meta[LAST_FAILURE]
            self._check_budget(request, kind, detail, self._slot_wait_left(request), asked=False)

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        kind, detail = f"http_{response.status}", response_status_message(response.status)
        wait, asked = 0.0, False
        if response.status in SLOW_DOWN_STATUSES:
            wait, asked = self.slow_down_wait(request, response)
            asked_for = retry_after_seconds(response.headers.get("Retry-After"))
            if asked_for is not None and not asked:
                self.crawler.stats.inc_value("retry/retry_after_too_long")
                raise RetryAfterTooLong(
                    f"HTTP {response.status} with Retry-After {asked_for:.0f} s, above "
                    f"RETRY_AFTER_MAX_SECONDS {self.retry_after_cap:g} s"
                )
        return self._retry_within_budgets(request, kind, detail, wait, asked) or response

    def process_exception(self, request: Request, exception: Exception) -> Request | None:  # type: ignore[override]
        self._release_if_over(request.meta.get("download_slot"))
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry", False):
            return None
        kind = download_failure_kind(exception) or type(exception).__name__
        return self._retry_within_budgets(request, kind, failure_detail(exception, kind))
