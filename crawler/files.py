"""`--download-attachments`: store every attachment of a record through Scrapy's FilesPipeline.

Files are stored by the SHA-256 of their content (`files/ab/abcd….pdf`), so a file attached twice
(a Đắk Lắk annex 3 byte-identical to annex 2) or found again in a later run is stored once; the
record's attachment gets `sha256`, `size` and `stored_path`.

Only http(s) attachments on a site inside the crawl boundary (`crawler.boundary`) are requested;
the others stay in the record, with their URL and without `stored_path`, and are counted
(`files/not_http_skipped`, `files/offsite_skipped`). Stored file names come from the content's hash
and a sanitised extension, never from link text.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from itemadapter import ItemAdapter
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.pipelines.files import FilesPipeline

from crawler.boundary import SCHEMES


def _extension(url: str) -> str:
    """The URL's file extension when it is a plain one (`.pdf`, `.docx`), else nothing."""
    suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
    return suffix if 1 < len(suffix) <= 6 and suffix[1:].isascii() and suffix[1:].isalnum() else ""


class AttachmentFiles(FilesPipeline):
    """Download a record's attachments; identical content is stored once. In every crawl's
    pipelines, on only with DOWNLOAD_ATTACHMENTS (`--download-attachments`, `-a attachments=true`)."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> Any:
        if not crawler.settings.getbool("DOWNLOAD_ATTACHMENTS"):
            raise NotConfigured
        return super().from_crawler(crawler)

    def get_media_requests(self, item: Any, info: Any) -> list[Request]:
        attachments = ItemAdapter(item).get("attachments") or []
        requests = []
        for attachment in attachments:
            skipped = self._not_fetched(attachment.url)
            if skipped is None:
                requests.append(Request(attachment.url, meta={"attachment_url": attachment.url}))
            else:
                self.crawler.stats.inc_value(f"files/{skipped}")
        return requests

    def _not_fetched(self, url: str) -> str | None:
        """Why an attachment is not requested (`not_http_skipped`, `offsite_skipped`), or None: only
        http(s) on a site inside the crawl's boundary is."""
        boundary = getattr(self.crawler.spider, "boundary", None)
        kind = boundary.link_kind(url) if boundary is not None else None
        if urlsplit(url.strip()).scheme.lower() not in SCHEMES or kind not in (None, "offsite"):
            return "not_http_skipped"
        return "offsite_skipped" if kind == "offsite" else None

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
            if result is None and self._not_fetched(attachment.url) is not None:
                continue  # never requested: counted when skipped, keeps its URL and no stored_path
            if result is None:
                self.crawler.stats.inc_value("files/failed")
                continue
            path = result["path"]
            attachment.sha256 = PurePosixPath(path).stem
            attachment.stored_path = str(store / path) if store else path
            attachment.size = (store / path).stat().st_size if store and (store / path).exists() else None
            self.crawler.stats.inc_value("files/stored")
        return item
