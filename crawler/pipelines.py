"""Item pipelines, one job each. Cleaning pipelines wrap the steps in `crawler.cleaning`; the rest
validate, filter, and place each record against the crawl state (versions, duplicates). Every drop
raises a DropItem subclass whose message is the reason that lands in the run's rejects file."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any, ClassVar, Self

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.settings import Settings
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import deferred_from_coro

from crawler import cleaning, similarity
from crawler.dates import FUTURE_TOLERANCE_DAYS, IMPOSSIBLE_RULE
from crawler.items import PortalRecord, record_context
from crawler.items import record_id as record_id_of
from crawler.runs import run_id_for
from crawler.similarity import DEFAULT_THRESHOLD
from crawler.state import CrawlState, KnownRecord, crawl_key, state_for
from crawler.urls import canonicalize_url, url_key


class _Drop(DropItem):
    """A drop logged at the class's level: expected drops are not warnings (crawler.logformat
    logs the URL and the reason, never the whole record)."""

    level = "INFO"

    def __init__(self, message: str) -> None:
        super().__init__(message, log_level=self.level)


class InvalidRecord(_Drop):
    """A required field is missing or malformed."""

    level = "WARNING"


class OlderThanSince(_Drop):
    """The record was published before the crawl's `since` date."""

    level = "DEBUG"


class DuplicateRecord(_Drop):
    """The record was already exported in this run (same canonical URL)."""


class DroppedDuplicate(DuplicateRecord):
    """The record repeats another one's text and DROP_DUPLICATES asks for duplicates to be dropped."""


class UnchangedRecord(_Drop):
    """A re-checked article whose text has not changed since the state last saw it."""

    level = "DEBUG"


class OverMaxItems(_Drop):
    """The run already wrote MAX_ITEMS records (the crawl is closing): not stored, so the next run
    fetches it."""


class _CountingPipeline:
    """A pipeline that counts what it does in the crawl stats."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats)


class _StepPipeline(_CountingPipeline):
    """Run one cleaning step and add its counts to the crawl stats."""

    step: ClassVar[cleaning.Step]

    def process_item(self, item: PortalRecord) -> PortalRecord:
        counts: Counter[str] = Counter()
        type(self).step(item, counts)
        for key, value in counts.items():
            self.stats.inc_value(key, value)
        return item


class AttributePortal(_StepPipeline):
    """Registry slug and province (current and legacy) of the record's portal."""

    step = staticmethod(cleaning.attribute_portal)


class NormalizeText(_StepPipeline):
    """Unicode NFC, Đ look-alikes, invisibles, whitespace and mojibake."""

    step = staticmethod(cleaning.normalize_fields)


class StripBoilerplate(_StepPipeline):
    """Placeholders, counters, action labels, leaked keys and related-article lists out of the body."""

    step = staticmethod(cleaning.strip_boilerplate)


class SeparateCaptions(_StepPipeline):
    """Captions stay with their images, never in the body."""

    step = staticmethod(cleaning.separate_captions)


class ExtractSource(_StepPipeline):
    """The "Nguồn: …" / "(Theo …)" attribution into `source`."""

    step = staticmethod(cleaning.extract_source)


class ExtractByline(_StepPipeline):
    """The trailing byline into `authors`."""

    step = staticmethod(cleaning.extract_byline)


class ParseDates(_StepPipeline):
    """Vietnamese date text into `published_at` (+07:00), raw text kept; impossible dates left
    empty and dates beyond FUTURE_DATE_TOLERANCE_DAYS (days after the fetch) marked."""

    step = staticmethod(cleaning.parse_dates)

    def __init__(self, stats: StatsCollector, future_tolerance_days: float = FUTURE_TOLERANCE_DAYS) -> None:
        super().__init__(stats)
        self.future_tolerance_days = future_tolerance_days

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats, crawler.settings.getfloat("FUTURE_DATE_TOLERANCE_DAYS", FUTURE_TOLERANCE_DAYS))

    def process_item(self, item: PortalRecord) -> PortalRecord:
        counts: Counter[str] = Counter()
        cleaning.parse_dates(item, counts, self.future_tolerance_days)
        for key, value in counts.items():
            self.stats.inc_value(key, value)
        return item


class StructureDocument(_StepPipeline):
    """Document number parts, type, issuer, dates and signer of official-document pages."""

    step = staticmethod(cleaning.structure_document)


class CollectDocumentRefs(_StepPipeline):
    """Document numbers mentioned in the record's text into `document_refs`."""

    step = staticmethod(cleaning.collect_document_refs)


class Finalize(_StepPipeline):
    """Canonical URL, id, content hash, language."""

    step = staticmethod(cleaning.finalize)


def validation_errors(item: Any) -> list[str]:
    """What makes a record unfit for export (empty when it is fine)."""
    record = ItemAdapter(item)
    errors = []
    if not record.get("url"):
        errors.append("missing url")
    if not (record.get("title") or "").strip():
        errors.append("missing title")
    if not (record.get("body") or "").strip() and not record.get("attachments") and not record.get("media_only"):
        errors.append("empty body and no attachments")
    if (
        record.get("published_raw")
        and not record.get("published_at")
        and record.get("published_rule") != IMPOSSIBLE_RULE
    ):
        errors.append("date shown but not understood")
    return errors


class ValidateRecord(_CountingPipeline):
    """Drop records lacking url, title, body (or attachments, or media for a media-only article),
    or a parsed date when one is shown (a date that cannot be, "31/02/2025", is kept unparsed)."""

    def process_item(self, item: Any) -> Any:
        errors = validation_errors(item)
        if errors:
            for error in errors:
                self.stats.inc_value(f"validate/{error.replace(' ', '_')}")
            raise InvalidRecord("; ".join(errors))
        self.stats.inc_value("validate/ok")
        return item


class FilterSince:
    """Drop records published before the crawl's `since` date (records without a date are kept)."""

    def __init__(self, since: date, stats: StatsCollector) -> None:
        self.since = since
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        since = crawler.settings.get("CRAWL_SINCE")  # also the spider argument `since`
        if not since:
            raise NotConfigured
        return cls(date.fromisoformat(since), crawler.stats)

    def process_item(self, item: Any) -> Any:
        published = ItemAdapter(item).get("published_at")
        if published and date.fromisoformat(published[:10]) < self.since:
            self.stats.inc_value("since/dropped")
            raise OlderThanSince(f"published {published[:10]}, before since={self.since.isoformat()}")
        return item


class TrackRecords(_CountingPipeline):
    """Place each record against everything the state has seen, on every portal and in every run:
    new or a new version of a known article (an unchanged one is dropped, its page marked as
    fetched), and whether its text repeats an earlier record exactly or nearly (`dup_of`,
    `dup_kind`). Records of this run are in the state already (StoreRecord), so they count too."""

    def __init__(self, stats: StatsCollector, state: CrawlState, settings: Settings, run_id: str) -> None:
        super().__init__(stats)
        self.state = state
        self.full = settings.getbool("FULL_CRAWL")
        self.threshold = settings.getfloat("NEAR_DUPLICATE_THRESHOLD", DEFAULT_THRESHOLD)
        self.run_id = run_id

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats, state_for(crawler), crawler.settings, run_id_for(crawler))

    def process_item(self, item: Any) -> Any:
        record = ItemAdapter(item)
        known = self.state.record(record["id"])
        former = self._former_id(record)
        if self._canonical_is_shared(record, known, former):
            record["canonical_url"] = canonicalize_url(record["url"])
            record["id"] = record_id_of(record["canonical_url"])
            known, former = self.state.record(record["id"]), self._former_id(record)
            self.stats.inc_value("ids/shared_canonical_seen")
        record_id = record["id"]
        if known is not None and known.last_run == self.run_id:
            self.stats.inc_value("dedupe/same_canonical_url")
            raise DuplicateRecord(f"duplicate: same canonical URL as record {record_id}, already exported in this run")
        if known is None and former is not None:
            known = self.state.record(former)
            record_context(item).former_id = former
            self.stats.inc_value("ids/former_id_continued")
        self._place_version(item, record, known)
        fingerprint = similarity.fingerprint(record.get("body") or "")
        record_context(item).fingerprint = fingerprint
        document = record.get("document")
        doc_number = getattr(document, "number", None) if document is not None else None
        self._flag_duplicate(record, fingerprint, doc_number, former)
        return item

    def _place_version(self, item: Any, record: ItemAdapter, known: KnownRecord | None) -> None:
        if known is None:
            record["version"] = 1
            self.stats.inc_value("state/new")
        elif known.content_hash != record["content_hash"]:
            record["version"] = known.version + 1
            record["updated_at"] = record.get("updated_at") or record.get("fetched_at")
            self.stats.inc_value("state/updated")
        elif self.full:
            record["version"] = known.version
            self.stats.inc_value("state/unchanged_rewritten")
        else:
            self.stats.inc_value("state/unchanged")
            context = record_context(item)
            if context.page_key:
                self.state.touch_page(context.page_key, context.validators)
            raise UnchangedRecord(f"unchanged since version {known.version} (run {known.last_run})")

    def _former_id(self, record: ItemAdapter) -> str | None:
        """The id the state knows this page's article under, when another: a record exported
        before ids came from the platform's article identity, or under a canonical since changed.
        Same article, so its version goes on and it is never its own duplicate."""
        page = self.state.page(crawl_key(record["url"], record.get("platform")))
        return page.record_id if page is not None and page.record_id != record["id"] else None

    def _canonical_is_shared(self, record: ItemAdapter, known: KnownRecord | None, former: str | None) -> bool:
        """The id comes from a canonical URL another page with other text already holds (in this
        run, or in the state while this page is known under its own id): that canonical is shared
        by many pages, not this article's identity, and the id falls back to the page URL."""
        if known is None or known.content_hash == record["content_hash"]:
            return False
        if url_key(record["canonical_url"]) == url_key(record["url"]):
            return False
        if cleaning.article_identity(record["url"], record["canonical_url"], record.get("platform", "")):
            return False
        page_key = crawl_key(record["url"], record.get("platform"))
        held_by_another_page = known.page_key is not None and known.page_key != page_key
        return known.last_run == self.run_id or former is not None or held_by_another_page

    def _flag_duplicate(
        self, record: ItemAdapter, fingerprint: similarity.Fingerprint | None, doc: str | None, former: str | None
    ) -> None:
        record_id, content_hash = record["id"], record["content_hash"]
        same_article = {record_id, former}
        first = self.state.first_with_content(content_hash)
        if first is not None and first not in same_article:
            self._mark(record, first, "exact", None)
            return
        if fingerprint is not None:
            match = self.state.nearest(fingerprint, exclude=record_id, doc_number=doc, threshold=self.threshold)
            if match is not None and match.record_id not in same_article:
                self._mark(record, match.record_id, "near", match.similarity)

    def _mark(self, record: ItemAdapter, first: str, kind: str, score: float | None) -> None:
        record["dup_of"], record["dup_kind"] = first, kind
        record["dup_similarity"] = round(score, 3) if score is not None else 1.0
        self.stats.inc_value(f"dedupe/{kind}")


class StoreRecord(_CountingPipeline):
    """Accept each record into the state (its page known, its version, duplicate links and JSON
    line, one committed transaction) before any output sees it: the run folder, Scrapy feeds and
    exports are views of what the state accepted. At MAX_ITEMS records the crawl closes and later
    records are dropped unstored, so every output holds the same records. With DROP_DUPLICATES a
    duplicate is remembered (its page is not fetched again) but dropped from the outputs."""

    def __init__(self, crawler: Crawler, state: CrawlState, run_id: str) -> None:
        super().__init__(crawler.stats)
        self.crawler = crawler
        self.state = state
        self.run_id = run_id
        self.drop_duplicates = crawler.settings.getbool("DROP_DUPLICATES")
        self.max_items = crawler.settings.getint("MAX_ITEMS") or None
        # A resumed job (JOBDIR) goes on counting what it stored before its pause.
        self.stored = state.run_record_count(run_id) if crawler.settings.get("JOBDIR") else 0
        self.closing = False
        self.portal = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, state_for(crawler), run_id_for(crawler))

    def open_spider(self) -> None:
        spider = self.crawler.spider
        self.portal = getattr(spider, "state_portal", "") or getattr(spider, "portal_name", "")

    def process_item(self, item: Any) -> Any:
        if self.max_items is not None and self.stored >= self.max_items:
            self.stats.inc_value("export/over_max_items")
            self._close()  # a resumed job may start at its limit
            raise OverMaxItems(f"over max_items={self.max_items}: not stored, the next run fetches it")
        data = ItemAdapter(item).asdict()
        context = record_context(item)
        dropped = bool(data.get("dup_of")) and self.drop_duplicates
        written_as = self._written_as(data)
        context.line = self.state.store_record(
            data,
            portal=self.portal,
            page_key=context.page_key,
            run_id=self.run_id,
            headers=context.validators,
            fingerprint=context.fingerprint,
            output=not dropped,
            supersedes=context.former_id,
        )
        if dropped:
            self.stats.inc_value(f"dedupe/dropped_{data['dup_kind']}")
            raise DroppedDuplicate(f"duplicate ({data['dup_kind']}) of record {data['dup_of']}")
        self.stats.inc_value(f"export/{written_as}")
        self.stored += 1
        if self.max_items is not None and self.stored >= self.max_items:
            self._close()
        return item

    def _close(self) -> None:
        """Ask the engine once to close the crawl: the run has all the records it may write."""
        if not self.closing:
            self.closing = True
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="max_items"))

    def _written_as(self, data: dict[str, Any]) -> str:
        """What the record is to the state: `new`, `updated` or `unchanged_rewritten` (--full)."""
        known = self.state.record(data["id"])
        if known is None:  # or known under its former id: its version goes on
            return "new" if int(data.get("version") or 1) <= 1 else "updated"
        return "updated" if known.content_hash != data.get("content_hash") else "unchanged_rewritten"
