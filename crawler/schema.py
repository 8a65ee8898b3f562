"""The record JSON Schema, generated from the item definition (itemadapter) and shipped in the package."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter

from crawler.items import PortalRecord

# Read as a package resource (it works from a zipped egg, as Scrapyd runs projects); SCHEMA_PATH is
# where `crawler schema --write` writes in a source checkout.
SCHEMA_RESOURCE = files(__package__).joinpath("record.schema.json")
SCHEMA_PATH = Path(__file__).with_name("record.schema.json")
ISO_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?\+07:00$"


def record_schema() -> dict[str, Any]:
    """Schema of an exported record: every field is always present; dates are +07:00 ISO 8601."""
    schema = ItemAdapter.get_json_schema(PortalRecord)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "PortalRecord"
    schema["description"] = (PortalRecord.__doc__ or "").strip()
    schema["required"] = list(schema["properties"])
    props = schema["properties"]
    for name in ("published_at", "updated_at"):
        props[name]["pattern"] = ISO_WITH_OFFSET
    props["fetched_at"]["pattern"] = ISO_WITH_OFFSET
    props["id"]["minLength"] = 1
    props["title"]["minLength"] = 1
    props["content_hash"]["pattern"] = "^[0-9a-f]{64}$"
    props["version"]["minimum"] = 1
    props["dup_kind"]["enum"] = ["exact", "near", None]
    return schema


def shipped_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_RESOURCE.read_text(encoding="utf-8"))
