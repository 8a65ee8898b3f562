"""Conformance over the platform set and the registry: fixtures per platform, schema-valid output."""

from __future__ import annotations

import csv
import gzip
import json
from functools import cache
from pathlib import Path

import jsonschema
import pytest

from crawler.decoding import decode_html
from crawler.extract import extract_record
from crawler.platforms import KNOWN_PLATFORMS, PARSERS, parse_page
from crawler.registry import load_registry
from crawler.schema import shipped_schema

from .conftest import FIXTURES, ROOT, SHARED, STRICT

# Platforms whose pages are never listings (none at present).
ARTICLE_ONLY: dict[str, str] = {}


def _fixtures(platform: str) -> list[tuple[Path, dict]]:
    found = []
    for meta_path in sorted((FIXTURES / platform).glob("*/meta.json")):
        found.append((meta_path.parent, json.loads(meta_path.read_text(encoding="utf-8"))))
    return found


@pytest.mark.parametrize("platform", sorted(PARSERS))
def test_platform_module_interface(platform: str) -> None:
    module = PARSERS[platform]
    assert platform == module.NAME
    assert module.VERSION
    for function in ("detect", "parse_tree", "article_key"):
        assert callable(getattr(module, function)), f"{platform}.{function}"


@pytest.mark.parametrize("platform", sorted(PARSERS))
def test_platform_has_article_and_listing_fixtures(platform: str) -> None:
    fixtures = _fixtures(platform)
    assert any(meta.get("kind") != "listing" for _, meta in fixtures), f"{platform}: no article fixture"
    if platform not in ARTICLE_ONLY:
        assert any(meta.get("kind") == "listing" for _, meta in fixtures), f"{platform}: no listing fixture"


ARTICLE_FIXTURES = [
    pytest.param(d, meta, id=f"{d.parent.name}/{d.name}")
    for platform in sorted(PARSERS)
    for d, meta in _fixtures(platform)
    if meta.get("kind") != "listing"
]


@pytest.mark.parametrize(("fixture_dir", "meta"), ARTICLE_FIXTURES)
def test_parser_output_validates_against_the_schema(fixture_dir: Path, meta: dict) -> None:
    html = decode_html((fixture_dir / "page.html").read_bytes(), None)[0]
    record = extract_record(html, meta["url"], meta.get("platform"))
    assert record is not None
    jsonschema.Draft202012Validator(shipped_schema()).validate(record)
    assert record["platform"] == fixture_dir.parent.name


def test_every_registry_entry_names_a_known_platform() -> None:
    for entry in load_registry():
        assert entry.platform in KNOWN_PLATFORMS, entry.slug


# --- Every parser, and the fallback chain, over every page we hold ------------------------------

# Real pages whose MANIFEST page type is an article, a document or a dataset (vbpl.vn's views all
# are documents, whatever the manifest calls them; a "document listing" is not).
_ARTICLE_TYPES = ("article_detail", "document (", "dataset detail")


def _page_bytes(folder: Path) -> bytes:
    gz = folder / "page.html.gz"
    return gzip.decompress(gz.read_bytes()) if gz.exists() else (folder / "page.html").read_bytes()


@cache
def _fixture_pages() -> list[tuple[str, str, str, bool]]:
    """(name, html, url, is_article) of every fixture page."""
    pages = []
    for meta_path in sorted(FIXTURES.glob("*/*/meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        html = decode_html(_page_bytes(meta_path.parent), None)[0]
        name = f"fixtures/{meta_path.parent.parent.name}/{meta_path.parent.name}"
        pages.append((name, html, meta["url"], meta.get("kind") != "listing"))
    return pages


@cache
def _real_pages() -> list[tuple[str, str, str, bool]]:
    """Every saved real page in ../shared (none when it is absent)."""
    manifest = SHARED / "realpages" / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    pages = []
    with manifest.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if not row["local_file"].endswith(".html"):
                continue
            html = decode_html((SHARED / "realpages" / row["local_file"]).read_bytes(), None)[0]
            article = row["page_type"].startswith(_ARTICLE_TYPES) or row["page_type"] == "document"
            article = article or row["local_file"].startswith("sharepoint_vbpl/")
            pages.append((f"realpages/{row['local_file']}", html, row["source_url_if_known"], article))
    return pages


@cache
def _article_sets() -> list[tuple[str, str, str, bool]]:
    """The evaluation set's and the author set's pages: real articles of many sites and languages."""
    pages = []
    metas = [*(ROOT / "tests" / "evalset").glob("*/*/meta.json"), *(ROOT / "tests" / "authorset").glob("*/meta.json")]
    for meta_path in sorted(metas):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        html = decode_html(_page_bytes(meta_path.parent), None)[0]
        pages.append((str(meta_path.parent.relative_to(ROOT / "tests")), html, meta["url"], True))
    return pages


def _need_real_pages() -> list[tuple[str, str, str, bool]]:
    pages = _real_pages()
    if not pages:
        message = f"{SHARED}/realpages is absent: the real pages are not checked"
        if STRICT:
            pytest.fail(message)
        pytest.skip(message)
    return pages


def _believable(record: object) -> bool:
    """A record worth writing: a title, and a body (or a document's fields, files or media)."""
    return bool(
        getattr(record, "title", "").strip()
        and (getattr(record, "body", "").strip() or record.attachments or record.document or record.media_only)
    )


@pytest.mark.parametrize("platform", sorted(PARSERS))
def test_every_parser_on_every_page_never_raises_nor_gives_an_empty_record(platform: str) -> None:
    """Forcing any platform's parser on any page (a registry entry naming the wrong platform, a
    redesign) gives a believable record or a listing: the chain absorbs failures."""
    for name, html, url, _article in _fixture_pages() + _real_pages():
        page = parse_page(html, url, platform)
        assert page.kind in ("article", "listing", "other"), f"{platform} on {name}: {page.kind}"
        if page.record is not None:
            assert _believable(page.record), f"{platform} on {name}: empty record"


def test_every_article_page_gives_a_record() -> None:
    """No article page we hold — fixtures, real portal pages, the evaluation and author sets of
    many sites and languages — is lost: each gives a record with a title and a body."""
    pages = [p for p in _fixture_pages() + _need_real_pages() + _article_sets() if p[3]]
    assert len(pages) > 150
    lost = []
    for name, html, url, _article in pages:
        record = extract_record(html, url)
        if record is None or not record["title"] or not (record["body"] or record["attachments"] or record["document"]):
            lost.append(name)
    assert lost == []
