"""The portal registry: `portals.toml`, loaded into frozen entries and checked on load."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from crawler.items import Province
from crawler.platforms import KNOWN_PLATFORMS

# The packaged registry, read as a package resource (it works from a zipped egg, as Scrapyd runs
# projects); REGISTRY_PATH is where `crawler add-portal` writes in a source checkout.
REGISTRY_RESOURCE = files(__package__).joinpath("portals.toml")
REGISTRY_PATH = Path(__file__).with_name("portals.toml")
# Portal files added to the packaged registry in this process (the PORTALS_FILE setting): their
# entries are added, and replace a packaged entry of the same slug (a mirror, a private portal).
_PORTALS_FILES: tuple[str, ...] = ()
STATUSES = frozenset({"active", "legacy", "unverified"})
KINDS = frozenset({"province", "department", "district", "party", "newspaper"})


class RegistryError(ValueError):
    """The registry file is wrong; the message says which entry and what to fix."""


@dataclass(frozen=True)
class PortalEntry:
    slug: str
    name: str
    kind: str
    code: str
    domain: str
    platform: str
    status: str
    start_urls: tuple[str, ...]
    legacy_code: str | None = None
    merged_from: tuple[str, ...] = ()
    merged_into: str | None = None
    note: str | None = None
    boilerplate: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()  # portal quirks: Scrapy settings for its crawls
    # Other hosts (host or host:port) serving the same portal, inside its crawl boundary.
    aliases: tuple[str, ...] = ()
    current_name: str = ""
    legacy_name: str | None = None

    @property
    def short_name(self) -> str:
        for prefix in ("Thành phố ", "Tỉnh "):
            if self.name.startswith(prefix):
                return self.name[len(prefix) :]
        return self.name

    def province(self) -> Province:
        return Province(
            current_code=self.code,
            current_name=self.current_name,
            legacy_code=self.legacy_code,
            legacy_name=self.legacy_name,
        )


@dataclass
class Registry:
    entries: dict[str, PortalEntry] = field(default_factory=dict)
    by_domain: dict[str, PortalEntry] = field(default_factory=dict)

    def get(self, slug: str) -> PortalEntry | None:
        return self.entries.get(slug)

    def for_url(self, url: str) -> PortalEntry | None:
        """The entry whose domain is the URL's host or a parent of it (longest domain wins)."""
        labels = (urlsplit(url).hostname or "").lower().split(".")
        for start in range(len(labels) - 1):  # longest suffix first: sotttt.hanoi.gov.vn, hanoi.gov.vn …
            entry = self.by_domain.get(".".join(labels[start:]))
            if entry is not None:
                return entry
        return None

    def __iter__(self) -> Iterator[PortalEntry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)


def _check_url(slug: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RegistryError(f"portal '{slug}': URL {url!r} is not an http(s) URL with a host")


def _is_host(alias: object) -> bool:
    """`host` or `host:port`: no scheme, path or user."""
    if not isinstance(alias, str) or not alias or any(c in alias for c in "/@?# "):
        return False
    try:
        parts = urlsplit(f"http://{alias}/")
        parts.port  # noqa: B018 — raises on a bad port
    except ValueError:
        return False
    return bool(parts.hostname)


def _rows(text: str, source: str) -> list[dict[str, object]]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RegistryError(f"{source}: not valid TOML ({error})") from None
    rows = raw.get("portal", [])
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise RegistryError(f"{source}: portals must be [[portal]] tables")
    return rows


def parse_registry(text: str, source: str = "portals.toml", extra: tuple[tuple[str, str], ...] = ()) -> Registry:
    """Parse and check registry TOML: duplicate slugs or domains, unknown platforms, bad URLs.
    `extra`: (text, source) of further portal files, whose entries replace those of the same slug."""
    rows = _rows(text, source)
    for extra_text, extra_source in extra:
        added = _rows(extra_text, extra_source)
        replaced = {row.get("slug") for row in added}
        rows = [row for row in rows if row.get("slug") not in replaced] + added
        source = f"{source} + {extra_source}"
    return _parse_rows(rows, source)


def _parse_rows(rows: list[dict[str, Any]], source: str) -> Registry:
    required = ("slug", "name", "kind", "code", "domain", "platform", "status", "start_urls")
    current_names = {
        row.get("code"): _short(row.get("name", ""))
        for row in rows
        if row.get("status") != "legacy" and row.get("kind") == "province"
    }
    # Pre-2025 province names by their code, for entries (newspapers, departments) that name only the code.
    legacy_names = {
        row.get("legacy_code"): _short(row.get("name", ""))
        for row in rows
        if row.get("kind") == "province" and row.get("legacy_code")
    }
    registry = Registry()
    domains: dict[str, str] = {}
    for index, row in enumerate(rows, start=1):
        missing = [key for key in required if not row.get(key)]
        slug = row.get("slug", f"#{index}")
        if missing:
            raise RegistryError(f"{source}: portal '{slug}' lacks {', '.join(missing)}")
        if slug in registry.entries:
            raise RegistryError(f"{source}: duplicate portal slug '{slug}'")
        if row["platform"] not in KNOWN_PLATFORMS:
            known = ", ".join(sorted(KNOWN_PLATFORMS))
            raise RegistryError(f"{source}: portal '{slug}' names unknown platform '{row['platform']}' ({known})")
        if row["status"] not in STATUSES:
            raise RegistryError(f"{source}: portal '{slug}' has status '{row['status']}' (use {sorted(STATUSES)})")
        if row["kind"] not in KINDS:
            raise RegistryError(f"{source}: portal '{slug}' has kind '{row['kind']}' (use {sorted(KINDS)})")
        if row["domain"] in domains:
            raise RegistryError(f"{source}: domain {row['domain']} is used by '{domains[row['domain']]}' and '{slug}'")
        if row["code"] not in current_names:
            raise RegistryError(f"{source}: portal '{slug}' has code {row['code']}, which is no current unit")
        for url in (*row["start_urls"], *row.get("feeds", ()), *row.get("sitemaps", ())):
            _check_url(slug, url)
        aliases = row.get("aliases", [])
        if not isinstance(aliases, list) or not all(_is_host(alias) for alias in aliases):
            raise RegistryError(f"{source}: portal '{slug}' aliases must be a list of host names (host or host:port)")
        quirks = row.get("settings", {})
        if not isinstance(quirks, dict) or any(not name.isupper() for name in quirks):
            raise RegistryError(f"{source}: portal '{slug}' settings must be a table of Scrapy SETTING_NAMES")
        domains[row["domain"]] = slug
        legacy_code = row.get("legacy_code")
        registry.entries[slug] = registry.by_domain[row["domain"]] = PortalEntry(
            slug=slug,
            name=row["name"],
            kind=row["kind"],
            code=row["code"],
            domain=row["domain"],
            platform=row["platform"],
            status=row["status"],
            start_urls=tuple(row["start_urls"]),
            legacy_code=legacy_code,
            merged_from=tuple(row.get("merged_from", ())),
            merged_into=row.get("merged_into"),
            note=row.get("note"),
            boilerplate=tuple(row.get("boilerplate", ())),
            feeds=tuple(row.get("feeds", ())),
            sitemaps=tuple(row.get("sitemaps", ())),
            settings=tuple((name, str(value)) for name, value in quirks.items()),
            aliases=tuple(aliases),
            current_name=current_names[row["code"]],
            legacy_name=(_short(row["name"]) if row["kind"] == "province" else legacy_names.get(legacy_code))
            if legacy_code
            else None,
        )
    return registry


def _short(name: str) -> str:
    for prefix in ("Thành phố ", "Tỉnh "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


@lru_cache(maxsize=1)
def load_registry() -> Registry:
    """The packaged registry and the portal files `use_portals_files` added."""
    extra = []
    for name in _PORTALS_FILES:
        try:
            extra.append((Path(name).read_text(encoding="utf-8"), name))
        except (OSError, UnicodeDecodeError) as error:
            raise RegistryError(f"PORTALS_FILE {name} cannot be read ({error}); give a portals TOML file") from None
    return parse_registry(REGISTRY_RESOURCE.read_text(encoding="utf-8"), "portals.toml", tuple(extra))


def use_portals_files(names: list[str] | tuple[str, ...] | str | None) -> None:
    """Add portal files (the PORTALS_FILE setting: one path, or several comma-separated) to the
    packaged registry for this process; the same files again change nothing."""
    if isinstance(names, str):
        names = [part.strip() for part in names.split(",")]
    wanted = tuple(str(Path(name).expanduser().resolve()) for name in names or () if name)
    global _PORTALS_FILES
    if wanted != _PORTALS_FILES:
        _PORTALS_FILES = wanted
        load_registry.cache_clear()


SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
CODE_PATTERN = re.compile(r"[0-9]{2}")


def _has_control(text: str) -> bool:
    """Control, format or line-separator characters: they break a table row, a log line or a file name."""
    return any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in text)


def check_new_portal(fields: dict[str, object], registry: Registry) -> None:
    """Refuse what `parse_registry` accepts but must not come from a command line: a slug that is
    no plain lower-case name (it names a fixture folder), codes that are no GSO codes, names with
    control characters."""
    slug = str(fields.get("slug") or "")
    if not SLUG_PATTERN.fullmatch(slug):
        raise RegistryError(
            f"slug {slug!r} must be lower-case ASCII letters and digits joined by hyphens, e.g. sotttt-dak-lak"
        )
    name = str(fields.get("name") or "")
    if not name.strip() or _has_control(name) or name != name.strip():
        raise RegistryError(f"name {name!r} must be non-empty text without control characters or outer spaces")
    code = str(fields.get("code") or "")
    if not CODE_PATTERN.fullmatch(code):
        raise RegistryError(f"code {code!r} must be a two-digit GSO province code, e.g. 66 (see `crawler portals`)")
    legacy = fields.get("legacy_code")
    if legacy is not None:
        known = {entry.legacy_code for entry in registry if entry.legacy_code} | {entry.code for entry in registry}
        if not CODE_PATTERN.fullmatch(str(legacy)) or str(legacy) not in known:
            raise RegistryError(
                f"legacy code {legacy!r} must be the two-digit GSO code of a pre-2025 province "
                "(the `legacy` column of `crawler portals`)"
            )
    for key in ("feeds", "sitemaps", "start_urls"):
        urls = fields.get(key) or []
        for url in urls if isinstance(urls, list | tuple) else [urls]:
            if _has_control(str(url)) or " " in str(url):
                raise RegistryError(f"URL {url!r} has spaces or control characters")


def toml_entry(fields: dict[str, object]) -> str:
    """One `[[portal]]` block, written by a TOML library (quoting and escapes are its business)."""
    kept = {key: list(item) if isinstance(item, tuple) else item for key, item in fields.items()}
    return tomli_w.dumps({"portal": [{key: item for key, item in kept.items() if item not in (None, [])}]})


def add_portal(path: Path, fields: dict[str, object]) -> PortalEntry:
    """Append a portal to the registry file at `path`, checking it and the whole registry first."""
    text = path.read_text(encoding="utf-8")
    check_new_portal(fields, parse_registry(text, str(path)))
    updated = text.rstrip("\n") + "\n\n" + toml_entry(fields)
    entry = parse_registry(updated, str(path)).get(str(fields["slug"]))
    assert entry is not None
    path.write_text(updated, encoding="utf-8")
    load_registry.cache_clear()
    return entry
