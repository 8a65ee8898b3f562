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

from crawler import cleaning, similarity
from crawler.dates import FUTURE_TOLERANCE_DAYS, IMPOSSIBLE_RULE
from crawler.export import run_id_for
from crawler.items import PortalRecord
from crawler.items import record_id as record_id_of
from crawler.similarity import DEFAULT_THRESHOLD
from crawler.state import CrawlState, InFlight, KnownRecord, crawl_key, state_for
from crawler.urls import canonicalize_url, url_key


class InvalidRecord(DropItem):
    """A required field is missing or malformed."""


class OlderThanSince(DropItem):
    """The record was published before the crawl's `since` date."""


class DuplicateRecord(DropItem):
    """The record was already exported in this run (same canonical URL)."""


class DroppedDuplicate(DuplicateRecord):
    """The record repeats another one's text and DROP_DUPLICATES asks for duplicates to be dropped."""


class UnchangedRecord(DropItem):
    """A re-checked article whose text has not changed since the state last saw it."""


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
        since = crawler.settings.get("CRAWL_SINCE")
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
    new or a new version of a known article (unchanged ones are not written again), and whether its
    text repeats an earlier record exactly or nearly (`dup_of`, `dup_kind`)."""

    def __init__(self, stats: StatsCollector, state: CrawlState, settings: Settings, run_id: str) -> None:
        super().__init__(stats)
        self.state = state
        self.full = settings.getbool("FULL_CRAWL")
        self.drop_duplicates = settings.getbool("DROP_DUPLICATES")
        self.threshold = settings.getfloat("NEAR_DUPLICATE_THRESHOLD", DEFAULT_THRESHOLD)
        self.run_id = run_id
        self._flagged: dict[str, str] = {}

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
        record_id, content_hash = record["id"], record["content_hash"]
        if self._exported_this_run(record_id, known):
            self.stats.inc_value("dedupe/same_canonical_url")
            raise DuplicateRecord(f"duplicate: same canonical URL as record {record_id}, already exported in this run")
        if known is None and former is not None:
            known = self.state.record(former)
            self.stats.inc_value("ids/former_id_continued")
        self._place_version(record, known)
        fingerprint = similarity.fingerprint(record.get("body") or "")
        document = record.get("document")
        doc_number = getattr(document, "number", None) if document is not None else None
        self._flag_duplicate(record, fingerprint, doc_number, former)
        self.state.hold(record_id, InFlight(content_hash, fingerprint, doc_number))
        self._remember_flag(record_id, record.get("dup_of"))
        if record.get("dup_of") and self.drop_duplicates:
            self.stats.inc_value(f"dedupe/dropped_{record['dup_kind']}")
            raise DroppedDuplicate(f"duplicate ({record['dup_kind']}) of record {record['dup_of']}")
        return item

    def _place_version(self, record: ItemAdapter, known: KnownRecord | None) -> None:
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
            raise UnchangedRecord(f"unchanged since version {known.version} (run {known.last_run})")

    def _exported_this_run(self, record_id: str, known: KnownRecord | None) -> bool:
        return record_id in self.state.in_flight or (known is not None and known.last_run == self.run_id)

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
        held = self.state.in_flight.get(record["id"])
        other_hash = held.content_hash if held is not None else known.content_hash if known is not None else None
        if other_hash is None or other_hash == record["content_hash"]:
            return False
        if url_key(record["canonical_url"]) == url_key(record["url"]):
            return False
        if cleaning.article_identity(record["url"], record["canonical_url"], record.get("platform", "")):
            return False
        return held is not None or (known is not None and known.last_run == self.run_id) or former is not None

    def _remember_flag(self, record_id: str, dup_of: str | None) -> None:
        """Which held records are duplicates themselves: one is never the original of another."""
        if dup_of:
            self._flagged[record_id] = dup_of
        if len(self._flagged) > 2 * len(self.state.in_flight) + 256:
            self._flagged = {k: v for k, v in self._flagged.items() if k in self.state.in_flight}

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
                return
        concurrent = self.state.in_flight_duplicate(record_id, content_hash, fingerprint, doc, self.threshold)
        # A held record flagged as a duplicate points to an earlier one (this record, or one the
        # state lookups above already weighed): it is never an original to point to.
        if concurrent is not None and concurrent[0] not in same_article and concurrent[0] not in self._flagged:
            self._mark(record, *concurrent)

    def _mark(self, record: ItemAdapter, first: str, kind: str, score: float | None) -> None:
        record["dup_of"], record["dup_kind"] = first, kind
        record["dup_similarity"] = round(score, 3) if score is not None else 1.0
        self.stats.inc_value(f"dedupe/{kind}")
