"""Records shaped like the crawler's, generated lazily and without crawling.

Export tests and `bench/bench_export.py` need many records of realistic size and shape (nested
parser/province/document objects, images, attachments, Vietnamese text with tone marks and đ) and
cannot hold a million of them in memory: `generated_records` yields them one at a time, in the field
order of `PortalRecord`, and `stored_batches` wraps their JSON lines as the state hands them out.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from crawler.demo.site import _SYLLABLES
from crawler.items import record_line
from crawler.sinks import StoredRecord

_PROVINCES = (
    ("75", "Đồng Nai", "70", "Bình Phước"),
    ("51", "Quảng Ngãi", "62", "Kon Tum"),
    ("01", "Hà Nội", None, None),
    ("79", "Thành phố Hồ Chí Minh", "74", "Bình Dương"),
)
_AUTHORS = ("Lê Hằng", "Tố Tuấn", "Nhật Quang", "Đặng Thị Mai", "Nguyễn Văn Đức")
_TAGS = ("chuyển đổi số", "cải cách hành chính", "Đồng Nai", "hội nghị", "an toàn thông tin")
_CATEGORIES = ("Tin tức sự kiện", "Thông báo", "Văn bản chỉ đạo điều hành")


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(_SYLLABLES, k=words)).capitalize() + "."


@cache
def _sentences() -> tuple[str, ...]:
    """Sentences that bodies are drawn from: picking whole sentences keeps generation quick."""
    rng = random.Random(5)
    return tuple(_sentence(rng, rng.randint(12, 30)) for _ in range(4096))


def generated_record(n: int, rng: random.Random) -> dict[str, Any]:
    """Record number `n`: a news report of 2–6 kB (every tenth a document page with a signer)."""
    province = _PROVINCES[n % len(_PROVINCES)]
    portal = f"portal{n % 7}.gov.vn"
    url = f"https://{portal}/vi/tin-tuc/-/view_content/{n}-bai-viet-so-{n}.html"
    paragraphs = [" ".join(rng.choices(_sentences(), k=4)) for _ in range(rng.randint(3, 8))]
    body = "\n\n".join(paragraphs) + "./."
    published = datetime(2024, 6, 30, 8, 30) - timedelta(days=n % 2000, minutes=n % 600)
    is_document = n % 10 == 0
    document = None
    if is_document:
        document = {
            "number": f"{n}/2024/QĐ-UBND",
            "number_parts": {"number": str(n), "year": "2024", "symbol": "QĐ-UBND"},
            "doc_type": "Quyết định",
            "issuer": f"Ủy ban nhân dân tỉnh {province[1]}",
            "issued_at": published.date().isoformat(),
            "effective_at": (published + timedelta(days=10)).date().isoformat(),
            "signer": {"name": "Lê Văn Hòa", "authority": "TM. Ủy ban nhân dân", "title": "Phó Chủ tịch"},
            "abstract": rng.choice(_sentences()),
            "status": "Còn hiệu lực",
            "sector": "Cải cách hành chính",
            "branch": None,
            "scope": province[1],
            "expired_at": None,
            "gazette_at": None,
            "gazette_number": None,
            "collected_from": None,
            "announced_at": None,
            "announcing_decision": None,
            "precedent_source": None,
            "co_signers": [{"name": "Đặng Thị Mai", "authority": None, "title": "Giám đốc Sở"}] if n % 20 == 0 else [],
        }
    duplicate = n % 25 == 0 and n > 0
    return {
        "url": url,
        "canonical_url": url,
        "portal": portal,
        "platform": "liferay",
        "parser": {"name": "liferay", "version": "1.0", "fallback_from": None, "fallback_reason": None},
        "title": f"Bài viết số {n}: " + " ".join(rng.choices(_SYLLABLES, k=10)),
        "id": hashlib.sha256(url.encode()).hexdigest()[:20],
        "province": {
            "current_code": province[0],
            "current_name": province[1],
            "legacy_code": province[2],
            "legacy_name": province[3],
        },
        "page_type": "document" if is_document else "article",
        "summary": " ".join(rng.choices(_sentences(), k=2)),
        "body": body,
        "published_at": published.strftime("%Y-%m-%dT%H:%M:%S+07:00"),
        "published_raw": published.strftime("%d/%m/%Y | %H:%M"),
        "published_rule": "dmy",
        "updated_at": None,
        "authors": rng.sample(_AUTHORS, rng.randint(0, 2)),
        "byline_raw": None,
        "editor": "Ban biên tập",
        "source": None,
        "category": _CATEGORIES[n % len(_CATEGORIES)],
        "tags": rng.sample(_TAGS, rng.randint(0, 3)),
        "images": [
            {"url": f"https://{portal}/image/{n}-{i}.jpg", "caption": rng.choice(_sentences())[:80], "alt": None}
            for i in range(rng.randint(0, 3))
        ],
        "attachments": [
            {
                "url": f"https://{portal}/documents/{n}/tai-lieu-{i}.pdf",
                "filename": f"tai-lieu-{i}.pdf",
                "media_type": "application/pdf",
                "sha256": None,
                "size": None,
                "stored_path": None,
            }
            for i in range(rng.randint(0, 2) if is_document else 0)
        ],
        "document": document,
        "document_refs": [f"{n - 1}/2023/NĐ-CP"] if is_document else [],
        "media_only": None,
        "embeds": [],
        "view_count": n % 997,
        "language": "vi",
        "content_hash": hashlib.sha256(body.encode()).hexdigest(),
        "version": 1 + n % 3,
        "dup_of": hashlib.sha256(str(n - 1).encode()).hexdigest()[:20] if duplicate else None,
        "dup_kind": "near" if duplicate else None,
        "dup_similarity": 0.93 if duplicate else None,
        "fetched_at": (datetime(2026, 12, 1, 9, 0) + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S+07:00"),
        "http_status": 200,
    }


def generated_records(count: int, *, seed: int = 11) -> Iterator[dict[str, Any]]:
    """`count` distinct records, one at a time (the same ones for the same seed)."""
    rng = random.Random(seed)
    for n in range(count):
        yield generated_record(n, rng)


def stored_batches(records: Iterator[dict[str, Any]], batch_size: int = 2000) -> Iterator[list[StoredRecord]]:
    """Records as `CrawlState.iter_records` hands them out: batches of StoredRecord, seq from 1."""
    batch: list[StoredRecord] = []
    for seq, record in enumerate(records, start=1):
        batch.append(StoredRecord(seq, record_line(record)))
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch
