"""Item pipelines, one job each. Cleaning pipelines wrap the steps in `crawler.cleaning`; the rest
validate, filter and deduplicate. Every drop raises a DropItem subclass whose message is the reason
that lands in the run's rejects file."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any, ClassVar, Self

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.statscollectors import StatsCollector

from crawler import cleaning
from crawler.items import PortalRecord


class InvalidRecord(DropItem):
    """A required field is missing or malformed."""


class OlderThanSince(DropItem):
    """The record was published before the crawl's `since` date."""


class DuplicateRecord(DropItem):
    """The record was already exported in this run (same canonical URL or same text)."""


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
    """Vietnamese date text into `published_at` (+07:00), raw text kept."""

    step = staticmethod(cleaning.parse_dates)


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
    if not (record.get("body") or "").strip() and not record.get("attachments"):
        errors.append("empty body and no attachments")
    if record.get("published_raw") and not record.get("published_at"):
        errors.append("date shown but not understood")
    return errors


class ValidateRecord(_CountingPipeline):
    """Drop records lacking url, title, body (or attachments), or a parsed date when one is shown."""

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


class DropDuplicates(_CountingPipeline):
    """Export each article once per run: same canonical URL (id) or same normalised text."""

    def __init__(self, stats: StatsCollector) -> None:
        super().__init__(stats)
        self.ids: set[str] = set()
        self.hashes: dict[str, str] = {}

    def process_item(self, item: Any) -> Any:
        record = ItemAdapter(item)
        if record["id"] in self.ids:
            self.stats.inc_value("dedupe/same_canonical_url")
            raise DuplicateRecord(f"duplicate: same canonical URL as record {record['id']}")
        first = self.hashes.get(record["content_hash"])
        if first is not None:
            self.stats.inc_value("dedupe/same_content")
            raise DuplicateRecord(f"duplicate: same text as record {first}")
        self.ids.add(record["id"])
        self.hashes[record["content_hash"]] = record["id"]
        return item
