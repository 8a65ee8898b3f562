"""The record every parser returns and every pipeline and exporter handles (through ItemAdapter)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from crawler.urls import url_key


@dataclass
class Image:
    """An image of the article, with the caption the page shows under it."""

    url: str
    caption: str | None = None
    alt: str | None = None


@dataclass
class Attachment:
    """A file linked from the article (PDF, DOC(X), XLS(X), ZIP …)."""

    url: str
    filename: str
    media_type: str | None = None
    sha256: str | None = None  # set with --download-attachments
    size: int | None = None
    stored_path: str | None = None

    def __post_init__(self) -> None:
        self.filename = safe_filename(self.filename)


MAX_FILENAME = 200


def safe_filename(name: str) -> str:
    """A file name fit to show or save: path separators turned into `_` (link text like
    "Số 12/2024/QĐ-UBND.pdf" is a name, not a path), no control characters, never `.`/`..` or
    empty, at most MAX_FILENAME characters with the extension kept. Attachment names come from
    link text and URLs a page controls; stored files are named by their hash (crawler.files)."""
    name = "".join(c for c in name.replace("/", "_").replace("\\", "_") if c.isprintable()).strip()
    if name.strip(". ") == "":
        return "file"
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext) <= 10:
            name = f"{stem[: MAX_FILENAME - len(ext) - 1].rstrip()}.{ext}"
        else:
            name = name[:MAX_FILENAME]
    return name


@dataclass
class Province:
    """The province a portal belongs to, now and (for merged-away portals) before 1 July 2025."""

    current_code: str
    current_name: str
    legacy_code: str | None = None
    legacy_name: str | None = None


@dataclass
class ParserInfo:
    """Which parser produced a record, so records can be re-derived when a parser changes; when the
    platform's own parser failed on the page, which one it was and why the generic reader took over."""

    name: str
    version: str
    fallback_from: str | None = None
    fallback_reason: str | None = None


@dataclass
class DocumentNumberParts:
    """A document number split as Nghị định 30/2020 writes it: number / [year /] symbol."""

    number: str
    year: str | None
    symbol: str


@dataclass
class Signer:
    """Who signed a document, and for whom: TM. (on behalf of a body), KT. (deputy), Q. (acting), TL., TUQ."""

    name: str
    authority: str | None = None
    title: str | None = None


@dataclass
class Document:
    """What an official-document page (văn bản) states about the document."""

    number: str | None = None
    number_parts: DocumentNumberParts | None = None
    doc_type: str | None = None
    issuer: str | None = None
    issued_at: str | None = None
    effective_at: str | None = None
    signer: Signer | None = None
    abstract: str | None = None
    status: str | None = None
    sector: str | None = None
    branch: str | None = None  # Ngành, which legal databases show beside Lĩnh vực (sector)
    scope: str | None = None  # Phạm vi: where it applies ("Toàn quốc", a province)
    expired_at: str | None = None  # Ngày hết hiệu lực
    gazette_at: str | None = None  # Ngày đăng công báo
    gazette_number: str | None = None  # the Công báo issue(s) it appeared in ("1271 đến 1276")
    collected_from: str | None = None  # Nguồn thu thập: where the database took it from ("Công báo số …")
    announced_at: str | None = None  # Ngày công bố (court precedents: published by the Chief Justice)
    announcing_decision: str | None = None  # Quyết định công bố ("Quyết định 39/QĐ-CA về việc công bố án lệ")
    precedent_source: str | None = None  # Nguồn án lệ: the judgment a precedent was drawn from
    co_signers: list[Signer] = field(default_factory=list)  # further signers of a joint document


@dataclass
class PortalRecord:
    """One article (news report, announcement, document page) harvested from a portal."""

    url: str
    canonical_url: str
    portal: str
    platform: str
    parser: ParserInfo
    title: str
    id: str = ""
    province: Province | None = None
    page_type: str = "article"
    summary: str | None = None
    body: str = ""
    published_at: str | None = None
    published_raw: str | None = None
    published_rule: str | None = None
    updated_at: str | None = None
    authors: list[str] = field(default_factory=list)
    # The byline as the page gives it, before labels ("Tin, ảnh:"), suffixes ("(tổng hợp)") and
    # dates were removed and names split; lines joined by a newline. None when there is none.
    byline_raw: str | None = None
    editor: str | None = None
    source: str | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    document: Document | None = None
    document_refs: list[str] = field(default_factory=list)
    # Set when the article has no text of its own, only media: "image", "pdf", "video" or "embed".
    media_only: str | None = None
    # Players and documents embedded in the article (iframe, embed, object, video sources).
    embeds: list[str] = field(default_factory=list)
    view_count: int | None = None
    language: str | None = None
    content_hash: str = ""
    # 1 when first exported; the state raises it each time the article's text changes.
    version: int = 1
    # Set when another record (first seen earlier, on any portal, in any run) has the same text
    # ("exact") or nearly the same body ("near", with the estimated similarity).
    dup_of: str | None = None
    dup_kind: str | None = None
    dup_similarity: float | None = None
    fetched_at: str = ""
    http_status: int = 200


@dataclass
class RecordContext:
    """What the crawl knows of a record beyond the record itself, for the state: the key its page
    is scheduled under, the page's ETag/Last-Modified, the body's fingerprint once TrackRecords has
    taken it, and the line the state committed. Carried on the item as an attribute, never exported."""

    page_key: str | None = None
    validators: dict[str, str] = field(default_factory=dict)
    fingerprint: Any = None
    line: str | None = None  # the JSON line the state committed (StoreRecord), for the run folder
    former_id: str | None = None  # the id the state knew this article under, when the id changed


def record_context(item: Any) -> RecordContext:
    """The item's context (attached by the spider), or a new one attached now."""
    context = getattr(item, "_context", None)
    if context is None:
        context = RecordContext()
        if not isinstance(item, dict):
            item._context = context
    return context


def record_line(data: dict[str, Any]) -> str:
    """A record's JSON line (no newline), as the state keeps it and every JSON Lines output writes it."""
    return json.dumps(data, ensure_ascii=False)


def record_id(url: str, identity: str | None = None) -> str:
    """A stable id: the platform's identity of the article when it has one (`site:platform:id`, the
    same under every category or print URL), else the page's URL identity, so every spelling of the
    same page (http/https, www., trailing slash, tracking parameters …) gives the same id, whatever
    the crawl order."""
    key = identity or url_key(url)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
