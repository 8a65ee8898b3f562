"""Regenerate crawler/registry/portals.toml from ../shared/data (run by hand; review the diff).

python tools/build_registry.py [../shared/data]
"""

from __future__ import annotations

import csv
import sys
import unicodedata
from pathlib import Path

# Platform facts from ../shared/docs/DOMAIN.md §2 for hosts whose parser exists.
PLATFORMS = {
    "danang.gov.vn": "liferay",
    "bacgiang.gov.vn": "liferay",
    "daknong.gov.vn": "liferay",
    "hungyen.gov.vn": "sharepoint",
    "quangninh.gov.vn": "sharepoint",
    "dienbien.gov.vn": "sharepoint",
    "ninhthuan.gov.vn": "sharepoint",
    "namdinh.gov.vn": "sharepoint",
    "quangnam.gov.vn": "webcenter",
}
# Start pages, feeds and sitemaps DOMAIN.md names (§2.2–2.3, §7).
START_URLS = {
    "dienbien.gov.vn": ["https://dienbien.gov.vn/portal/Pages/Tin-tuc-su-kien.aspx"],
    "quangninh.gov.vn": ["https://quangninh.gov.vn/Trang/tin-tuc-su-kien.aspx"],
    "bacgiang.gov.vn": ["https://bacgiang.gov.vn/chinh-tri", "https://bacgiang.gov.vn/kinh-te"],
}
FEEDS = {"vinhlong.gov.vn": ["https://vinhlong.gov.vn/rss/tintuc.rss"]}
SITEMAPS = {"daklak.gov.vn": ["https://daklak.gov.vn/sitemap.xml"]}
# Host quirks (DOMAIN.md §8): bacgiang.gov.vn only speaks legacy TLS.
SETTINGS = {"bacgiang.gov.vn": {"DOWNLOADER_CLIENT_TLS_CIPHERS": "DEFAULT:@SECLEVEL=1"}}
# Signatures DOMAIN.md names for platforms without a parser yet (kept as notes for issue 3).
NOTES = {
    "hungyen.gov.vn": "SharePoint (/Pages/*.aspx)",
    "quangninh.gov.vn": "SharePoint /Trang/*.aspx",
    "dienbien.gov.vn": "SharePoint portal/Pages family",
    "ninhthuan.gov.vn": "SharePoint portal/Pages family",
    "namdinh.gov.vn": "SharePoint portal/Pages family",
    "quangnam.gov.vn": "Oracle WebCenter (dDocName=)",
    "quangngai.gov.vn": "Liferay before 2025 (/web/portal-qni/…); /tin-tuc/{slug}.html since",
    "kontum.gov.vn": "ASP.NET (vpubnd.kontum.gov.vn /NewsDetail.aspx?id=)",
    "hue.gov.vn": "HueCIT family (unverified)",
}
SEEN = {"quangninh.gov.vn", "quangngai.gov.vn", "daklak.gov.vn", "vinhlong.gov.vn"}
# Provincial newspapers (DOMAIN.md §1): code = the unit they belong to now, legacy_code = their province.
NEWSPAPERS = [
    ("bao-kon-tum", "Báo Kon Tum", "baokontum.com.vn", "51", "62"),
    ("bao-quang-nam", "Báo Quảng Nam", "baoquangnam.vn", "48", "49"),
    ("bao-tay-ninh", "Báo Tây Ninh", "baotayninh.vn", "80", "72"),
    ("bao-ninh-thuan", "Báo Ninh Thuận", "baoninhthuan.com.vn", "56", "58"),
    ("bao-ha-tinh", "Báo Hà Tĩnh", "baohatinh.vn", "42", None),
]
DEPARTMENTS = [
    {
        "slug": "sotttt-hanoi",
        "name": "Sở Thông tin và Truyền thông Hà Nội",
        "kind": "department",
        "code": "01",
        "domain": "sotttt.hanoi.gov.vn",
        "platform": "liferay",
        "status": "unverified",
        "start_urls": ["http://sotttt.hanoi.gov.vn/vi/tin-tuc-su-kien"],
        "note": "Liferay 6.2 asset publisher (../shared/realpages/liferay, saved 2022)",
    }
]


def slugify(name: str) -> str:
    plain = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return "-".join("".join(c if c.isalnum() else " " for c in plain).split())


def short_name(name_with_type: str) -> str:
    for prefix in ("Thành phố ", "Tỉnh "):
        if name_with_type.startswith(prefix):
            return name_with_type[len(prefix) :]
    return name_with_type


def toml_value(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(data_dir: Path) -> None:
    current = list(csv.DictReader((data_dir / "provinces_34_2025.csv").open(encoding="utf-8")))
    legacy = list(csv.DictReader((data_dir / "provinces_63_pre2025.csv").open(encoding="utf-8")))
    legacy_by_domain = {row["portal_domain"]: row for row in legacy}
    entries = []
    current_domains = set()
    for row in current:
        domain = row["expected_portal_domain"]
        current_domains.add(domain)
        merged = row["merged_from_codes"].split(";")
        entry = {
            "slug": slugify(short_name(row["name_with_type"])),
            "name": row["name_with_type"],
            "kind": "province",
            "code": row["code"],
            "domain": domain,
            "platform": PLATFORMS.get(domain, "unknown"),
            "status": "active" if domain in SEEN else "unverified",
            "start_urls": START_URLS.get(domain, [f"https://{domain}/"]),
            "merged_from": merged,
        }
        if domain in FEEDS:
            entry["feeds"] = FEEDS[domain]
        if domain in SITEMAPS:
            entry["sitemaps"] = SITEMAPS[domain]
        own = legacy_by_domain.get(domain)
        if own is not None and len(merged) > 1:
            entry["legacy_code"] = own["code_gso"]
        if domain in NOTES:
            entry["note"] = NOTES[domain]
        entries.append(entry)
    for row in legacy:
        if row["portal_domain"] in current_domains:
            continue
        domain = row["portal_domain"]
        entry = {
            "slug": slugify(row["name"]),
            "name": row["name_with_type"],
            "kind": "province",
            "code": row["new_code_2025"],
            "legacy_code": row["code_gso"],
            "domain": domain,
            "platform": PLATFORMS.get(domain, "unknown"),
            "status": "legacy",
            "start_urls": START_URLS.get(domain, [f"https://{domain}/"]),
            "merged_into": row["new_code_2025"],
        }
        if domain in NOTES:
            entry["note"] = NOTES[domain]
        if domain in SETTINGS:
            entry["settings"] = SETTINGS[domain]
        entries.append(entry)
    entries.extend(DEPARTMENTS)
    for slug, name, domain, code, legacy_code in NEWSPAPERS:
        entry = {
            "slug": slug,
            "name": name,
            "kind": "newspaper",
            "code": code,
            "domain": domain,
            "platform": "unknown",
            "status": "unverified",
            "start_urls": [f"https://{domain}/"],
        }
        if legacy_code:
            entry["legacy_code"] = legacy_code
        entries.append(entry)
    lines = [
        "# Portal registry: generated by tools/build_registry.py from ../shared/data, then reviewed.",
        "# code = GSO code of the unit the portal belongs to now; legacy_code = the pre-1 July 2025",
        "# province whose portal this was (only where the unit changed).",
        "",
    ]
    for entry in entries:
        lines.append("[[portal]]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in entry.items())
        lines.append("")
    out = Path(__file__).resolve().parent.parent / "crawler" / "registry" / "portals.toml"
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"{len(entries)} portals → {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
