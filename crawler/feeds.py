"""Scrapy feed exporters (`-o x.csv`, `-o x.xml`, FEEDS) that write records as `crawler export` does.

Scrapy's CSV and XML exporters turn a nested dataclass (parser, province, document, images,
attachments) into its Python repr, `ParserInfo(name='liferay', …)`. Here a CSV cell is what the CSV
export writes (lists of strings joined with "; ", objects as compact JSON) and XML gets nested
elements. JSON and JSON Lines feeds need nothing: Scrapy's encoder writes dataclasses as objects.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from scrapy.exporters import CsvItemExporter, XmlItemExporter

from crawler.sinks.csvfile import csv_cell
from crawler.sinks.files import is_string_list, record_fields


def plain(value: Any) -> Any:
    """Dataclasses (and lists of them) as dicts and lists, the shape of the record's JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


class CsvFeedExporter(CsvItemExporter):
    """The CSV feed, cell for cell as `crawler export x.csv`."""

    _string_lists = frozenset(name for name, hint in record_fields().items() if is_string_list(hint))

    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        return csv_cell(plain(value), name in self._string_lists)


class XmlFeedExporter(XmlItemExporter):
    """The XML feed, nested objects as nested elements."""

    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        return super().serialize_field(field, name, plain(value))
