"""Cleaning steps, one job each, as plain functions of a record.

The Scrapy pipelines in `crawler.pipelines` wrap these one to one (adding stats); `clean_record` runs
the same chain outside Scrapy for `crawler extract`, fixtures and benchmarks. Each step counts what it
did in `counts` under its own namespace.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

from crawler import boilerplate
from crawler.dates import (
    FUTURE_MARK,
    FUTURE_TOLERANCE_DAYS,
    ICT,
    IMPOSSIBLE_RULE,
    is_dateline,
    is_future,
    parse_vietnamese_date,
    shows_impossible_date,
)
from crawler.documents import find_document_numbers, parse_document_number, type_from_title
from crawler.items import DocumentNumberParts, PortalRecord, Signer, record_id
from crawler.platforms import PARSERS, article_key
from crawler.platforms.base import (
    SENTENCE_END,
    clean_byline,
    looks_like_byline,
    looks_like_vietnamese_name,
    shared_canonical,
)
from crawler.registry import load_registry
from crawler.text import content_key, detect_language, join_paragraphs, match_key, normalize_text, paragraphs
from crawler.urls import canonicalize_url, site_key

Step = Callable[[PortalRecord, Counter[str]], None]

# "Nguồn: Báo Kon Tum", "(Theo Báo Kon Tum)", "Theo TTXVN"; not a sentence that starts "Theo báo cáo, …".
_SOURCE_LINE = re.compile(
    r"^(?:Nguồn(?:\s*tin)?\s*:\s*(?P<labelled>[^\n]{2,160}?)"
    r"|\(\s*(?:Nguồn\s*:?|Theo)\s+(?P<bracketed>[^()]{2,120}?)\s*\)"
    r"|Theo\s+(?P<bare>[A-ZĐÀ-Ỹ][^,;:.()]{1,60}))\s*\.?$"
)
# A labelled closing line is a byline even when its names are not capitalised ("Tác giả: nhóm PV").
_BYLINE_LABEL = re.compile(r"^(?:Tác giả|Người viết|Bài và ảnh|Bài, ảnh|Tin, ảnh|Tin và ảnh)\s*:\s*\S", re.I)
_LEAD_SOURCE = re.compile(r"^\((?P<source>[^()]{2,40})\)\s*[–—-]\s*")


def attribute_portal(record: PortalRecord, counts: Counter[str]) -> None:
    """Name the portal by its registry slug and attach its province (current and legacy)."""
    registry = load_registry()
    entry = registry.get(record.portal)
    if entry is None:
        entry = registry.for_url(record.url)
        host = (urlsplit(record.url).hostname or "").removeprefix("www.")
        if entry is not None and host != entry.domain:
            # A sub-site of a registered portal (a department, a former district): its own host
            # names it, the parent portal gives the province.
            record.province = entry.province()
            counts["attribute/subdomain_of_registered"] += 1
            return
    if entry is None:
        counts["attribute/unregistered_host"] += 1
        return
    record.portal = entry.slug
    record.province = entry.province()
    counts["attribute/registered"] += 1


def normalize_fields(record: PortalRecord, counts: Counter[str]) -> None:
    """NFC, Đ look-alikes, invisibles, nbsp, whitespace and mojibake in every text field.

    TCVN3/VNI text is not this step's business: a field alone is no evidence of a legacy encoding
    («, ©, § are letters there), so `crawler.decoding.decode_html` converts a page on page-level
    evidence before it is parsed.
    """

    def fix(value: str | None) -> str | None:
        if value is None:
            return None
        fixed = normalize_text(value)
        if fixed != value:
            counts["normalize/fields_changed"] += 1
        return fixed or None

    record.title = fix(record.title) or ""
    record.summary = fix(record.summary)
    record.body = join_paragraphs([p for p in (fix(p) for p in paragraphs(record.body)) if p])
    record.published_raw = fix(record.published_raw)
    record.editor = fix(record.editor)
    record.source = fix(record.source)
    record.category = fix(record.category)
    record.authors = [a for a in (fix(a) for a in record.authors) if a]
    record.tags = [t for t in (fix(t) for t in record.tags) if t]
    for image in record.images:
        image.caption = fix(image.caption)
        image.alt = fix(image.alt)


@lru_cache(maxsize=256)
def _noise_keys(platform: str, portal: str) -> frozenset[str]:
    entry = load_registry().get(portal)
    extra = (*boilerplate.PLATFORM_PHRASES.get(platform, ()), *(entry.boilerplate if entry else ()))
    return boilerplate.phrase_keys(extra)


def strip_boilerplate(record: PortalRecord, counts: Counter[str]) -> None:
    """Drop placeholders, counters, action labels, leaked keys, footers, repeated paragraphs and
    related-article lists."""
    keys = _noise_keys(record.platform, record.portal)
    kept: list[str] = []
    parts = paragraphs(record.body)
    title_key = match_key(record.title)
    raw_date_key = match_key(record.published_raw) if record.published_raw else None
    for index, para in enumerate(parts):
        key = match_key(para) if len(para) < 300 else ""
        if key in boilerplate.SECTION_ENDER_KEYS:
            counts["boilerplate/related_block_cut"] += 1
            counts["boilerplate/paragraphs_removed"] += len(parts) - index
            break
        if index == 0 and key == title_key:
            counts["boilerplate/title_repeated"] += 1
            continue
        if kept and para == kept[-1] and record.page_type != "document" and not SENTENCE_END.search(para):
            # A slideshow repeats its caption line after line; a schedule's "Sáng"/"Chiều" recur
            # between other lines, and laws repeat whole sentences: those stay.
            counts["boilerplate/repeated_paragraph"] += 1
            counts["boilerplate/paragraphs_removed"] += 1
            continue
        kind = boilerplate.noise_kind(para, keys)
        if kind is None and (key == raw_date_key or is_dateline(para)):
            kind = "dateline"
        if kind:
            counts[f"boilerplate/{kind}"] += 1
            counts["boilerplate/paragraphs_removed"] += 1
            continue
        kept.append(para)
    record.body = join_paragraphs(kept)
    if record.summary and boilerplate.noise_kind(record.summary, keys):
        record.summary = None
        counts["boilerplate/summary_removed"] += 1


def separate_captions(record: PortalRecord, counts: Counter[str]) -> None:
    """Captions belong to their images: a body paragraph repeating one is removed from the body."""
    captions = {match_key(i.caption) for i in record.images if i.caption}
    if not captions:
        return
    kept = []
    longest = max(len(c) for c in captions) + 20
    for para in paragraphs(record.body):
        if len(para) <= longest and match_key(para) in captions:
            counts["captions/removed_from_body"] += 1
            continue
        kept.append(para)
    record.body = join_paragraphs(kept)
    counts["captions/images_with_caption"] += sum(1 for i in record.images if i.caption)


def extract_byline(record: PortalRecord, counts: Counter[str]) -> None:
    """Bylines become names: the parser's byline lines and a trailing name line ("Lê Hằng",
    "Tố Tuấn – Nhật Quang", "Tin, ảnh: Hải Yến", "Minh Anh (tổng hợp)") are split into `authors`,
    labels, agency suffixes and dates removed; the lines as shown are kept in `byline_raw`."""
    lines = list(record.authors)
    parts = paragraphs(record.body)
    last = parts[-1] if parts else ""
    labelled = _BYLINE_LABEL.match(last)
    # An unstyled closing line is a byline only when it is a Vietnamese name (DOMAIN.md §3.3): on
    # other sites such a line is a heading left over ("Related Posts", "Tags") or a sign-off.
    if labelled or (len(parts) > 1 and looks_like_byline(last) and looks_like_vietnamese_name(last)):
        lines.append(last)
        record.body = join_paragraphs(parts[:-1])
        counts["byline/extracted"] += 1
    names: list[str] = []
    for line in lines:
        cleaned = clean_byline(line)
        if cleaned != [line]:
            counts["byline/cleaned"] += 1
        names.extend(name for name in cleaned if name not in names)
    record.authors = names
    if lines and record.byline_raw is None:
        record.byline_raw = "\n".join(lines)


def extract_source(record: PortalRecord, counts: Counter[str]) -> None:
    """ "Nguồn: …" / "(Theo …)" near the end goes to `source`; a lead opener "(QBĐT) –" is noted too."""
    parts = paragraphs(record.body)
    for offset in range(1, min(3, len(parts)) + 1):
        found = _SOURCE_LINE.match(parts[-offset])
        if found and len(parts) > 1:
            record.source = next(g for g in found.groups() if g).strip()
            del parts[-offset]
            record.body = join_paragraphs(parts)
            counts["source/trailing"] += 1
            return
    lead = _LEAD_SOURCE.match(record.summary or (parts[0] if parts else ""))
    if lead and record.source is None:
        record.source = lead.group("source").strip()
        counts["source/lead_opener"] += 1


def parse_dates(
    record: PortalRecord, counts: Counter[str], future_tolerance_days: float = FUTURE_TOLERANCE_DAYS
) -> None:
    """`published_raw` → `published_at` (+07:00), keeping the raw text and the rule that matched.

    A date that cannot be ("31/02/2025") leaves `published_at` empty under the rule `impossible`; a
    date further ahead of the fetch than the tolerance is kept, its rule marked `+future`."""
    if record.published_raw and not record.published_at:
        parsed = parse_vietnamese_date(record.published_raw)
        if parsed is None:
            if shows_impossible_date(record.published_raw):
                record.published_rule = IMPOSSIBLE_RULE
                counts["dates/impossible"] += 1
            else:
                counts["dates/unparsed"] += 1
            return
        record.published_at = parsed.iso
        record.published_rule = parsed.rule
        counts[f"dates/rule_{parsed.rule}"] += 1
    marked = (record.published_rule or "").endswith(FUTURE_MARK)
    if (
        record.published_at
        and not marked
        and is_future(record.published_at, _fetch_time(record), future_tolerance_days)
    ):
        record.published_rule = f"{record.published_rule or 'page'}{FUTURE_MARK}"
        counts["dates/future"] += 1


def _fetch_time(record: PortalRecord) -> datetime:
    try:
        fetched = datetime.fromisoformat(record.fetched_at) if record.fetched_at else None
    except ValueError:
        fetched = None
    return fetched if fetched is not None and fetched.tzinfo is not None else datetime.now(ICT)


_SIGNING_AUTHORITY = re.compile(r"^(?P<authority>TM|KT|Q|TL|TUQ)\.\s*(?P<rest>.+)$")
_DOCUMENT_DATES = ("issued_at", "effective_at", "expired_at", "gazette_at", "announced_at")
# "Công báo số 1271 đến 1276, năm 2015" (vbpl.vn's Nguồn thu thập) → "1271 đến 1276".
_GAZETTE_ISSUES = re.compile(r"^Công báo\s+số\s+(?P<issues>.+?)(?:,?\s*năm\s+\d{4})?$", re.I)


def structure_document(record: PortalRecord, counts: Counter[str]) -> None:
    """Split a document's number, name its type and issuer, date its issue, effect, expiry, gazette
    and announcement, mark each signer's authority (TM., KT. …)."""
    document = record.document
    if document is None:
        return
    number = parse_document_number(document.number)
    if number is not None:
        document.number = number.text
        document.number_parts = DocumentNumberParts(number.number, number.year, number.symbol)
        document.doc_type = document.doc_type or number.doc_type
        document.issuer = document.issuer or number.issuer
        counts["documents/number_parsed"] += 1
    elif document.number:
        counts["documents/number_unparsed"] += 1
    document.doc_type = document.doc_type or type_from_title(record.title)
    for name in _DOCUMENT_DATES:
        parsed = parse_vietnamese_date(getattr(document, name))
        setattr(document, name, parsed.iso[:10] if parsed else None)
    gazette = _GAZETTE_ISSUES.match(document.collected_from or "")
    if gazette and document.gazette_number is None:
        document.gazette_number = gazette.group("issues")
    if document.signer is not None:
        document.signer = _with_authority(document.signer)
    document.co_signers = [_with_authority(signer) for signer in document.co_signers]
    counts["documents/structured"] += 1


def _with_authority(signer: Signer) -> Signer:
    """The signer with a leading "TM."/"KT."/… moved from the name or title to `authority`."""
    for field_name in ("name", "title"):
        signed = _SIGNING_AUTHORITY.match(getattr(signer, field_name) or "")
        if signed and signer.authority is None:
            rest = signed.group("rest").strip()
            if field_name == "name":
                return Signer(name=rest, authority=f"{signed.group('authority')}.", title=signer.title)
            return Signer(name=signer.name, authority=f"{signed.group('authority')}.", title=rest)
    return signer


def collect_document_refs(record: PortalRecord, counts: Counter[str]) -> None:
    """Every document number the record's text mentions, in order, each once."""
    texts = [record.title, record.summary, record.body]
    if record.document is not None:
        document = record.document
        texts += [document.number, document.abstract, document.announcing_decision, document.precedent_source]
    refs: dict[str, None] = {}
    for text in texts:
        for number in find_document_numbers(text):
            refs.setdefault(number.text, None)
    record.document_refs = list(refs)
    counts["documents/refs"] += len(refs)


def finalize(record: PortalRecord, counts: Counter[str]) -> None:
    """Canonical URL, stable id, content hash, language and fetch time."""
    canonical = record.canonical_url
    if canonical and canonical != record.url and not canonical_names_page(canonical, record.url):
        counts["ids/shared_canonical"] += 1
        canonical = ""
    record.canonical_url = canonicalize_url(canonical or record.url)
    identity = article_identity(record.url, record.canonical_url, record.platform)
    record.id = record_id(record.canonical_url, identity)
    counts["ids/platform" if identity else "ids/url"] += 1
    hashed = content_key(f"{record.title}\n{record.body}")
    record.content_hash = hashlib.sha256(hashed.encode("utf-8")).hexdigest()
    # `language` arrives holding the page's <html lang>; the text confirms or overrules it.
    record.language = detect_language(f"{record.title}\n{record.body[:2000]}", record.language)
    if not record.fetched_at:
        record.fetched_at = datetime.now(ICT).isoformat(timespec="seconds")
    counts["finalize/records"] += 1


def canonical_names_page(canonical: str, url: str) -> bool:
    """Whether a rel=canonical can stand for the page at `url`: same site, and not a page many
    articles share (the site root, a listing or category above the article, the script without the
    query that picks the article)."""
    return site_key(canonical) == site_key(url) and not shared_canonical(canonical, url)


def article_identity(url: str, canonical_url: str, platform: str) -> str | None:
    """The platform's identity of the article (Liferay article id, NukeViet id …, scoped by site),
    read from the page URL or else its canonical URL; None for a page without one."""
    if platform not in PARSERS:
        return None
    return article_key(url, platform) or article_key(canonical_url, platform)


CLEANING_STEPS: tuple[Step, ...] = (
    attribute_portal,
    normalize_fields,
    strip_boilerplate,
    separate_captions,
    extract_source,
    extract_byline,
    parse_dates,
    structure_document,
    collect_document_refs,
    finalize,
)


def clean_record(record: PortalRecord, counts: Counter[str] | None = None) -> PortalRecord:
    """Run every cleaning step on `record` (as the crawl's pipelines do) and return it."""
    counts = counts if counts is not None else Counter()
    for step in CLEANING_STEPS:
        step(record, counts)
    return record
