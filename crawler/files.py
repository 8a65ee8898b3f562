"""`--download-attachments`: store every attachment of a record through Scrapy's FilesPipeline.

Files are stored by the SHA-256 of their content (`files/ab/abcd….pdf`), so a file attached twice
(a Đắk Lắk annex 3 byte-identical to annex 2) or found again in a later run is stored once; the
record's attachment gets `sha256`, `size` and `stored_path`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from itemadapter import ItemAdapter
from scrapy import Request
from scrapy.http import Response
from scrapy.pipelines.files import FilesPipeline


def _extension(url: str) -> str:
    suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
    return suffix if 1 < len(suffix) <= 6 else ""


class AttachmentFiles(FilesPipeline):
    """Download a record's attachments; identical content is stored once."""

    def get_media_requests(self, item: Any, info: Any) -> list[Request]:
        attachments = ItemAdapter(item).get("attachments") or []
        return [Request(a.url, meta={"attachment_url": a.url}) for a in attachments]

    def file_path(
        self, request: Request, response: Response | None = None, info: Any = None, *, item: Any = None
    ) -> str:
        if response is None:
            # Asked before downloading (to skip files already stored): content is unknown yet.
            return f"pending/{hashlib.sha1(request.url.encode()).hexdigest()}"
        digest = hashlib.sha256(response.body).hexdigest()
        return f"{digest[:2]}/{digest}{_extension(request.url)}"

    def item_completed(self, results: list[Any], item: Any, info: Any) -> Any:
        stored = {result["url"]: result for ok, result in results if ok}
        store = Path(self.store.basedir) if hasattr(self.store, "basedir") else None
        for attachment in ItemAdapter(item).get("attachments") or []:
            result = stored.get(attachment.url)
            if result is None:
                self.crawler.stats.inc_value("files/failed")
                continue
            path = result["path"]
            attachment.sha256 = PurePosixPath(path).stem
            attachment.stored_path = str(store / path) if store else path
            attachment.size = (store / path).stat().st_size if store and (store / path).exists() else None
            self.crawler.stats.inc_value("files/stored")
        return item
