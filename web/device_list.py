"""The device list's columns, defined once: the title the table and the files show, the sort key
(inventory.repository.SORTABLE) a header sorts by, and the value the labelled export writes.
Also which query arguments are the list's filter (what a saved filter keeps)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from inventory.io.table_export import ExportColumn
from inventory.repository import SORTABLE, DeviceFilter
from web.labels import label


@dataclass(frozen=True)
class DeviceColumn:
    key: str
    title: Any  # a lazy translated string, or a word read the same in every language
    sort: str | None  # a key of SORTABLE, or None when the column does not sort
    value: Callable[[dict], Any]  # the exported value (labels, not codes)
    kind: str = "text"


def _labelled(key: str) -> Callable[[dict], Any]:
    return lambda d: str(label(d[key])) if d.get(key) else None


def _os(d: dict) -> str | None:
    return " ".join(part for part in (d.get("os_name"), d.get("os_version")) if part) or None


def _compliance(d: dict) -> str | None:
    return str(label(d["compliance"]["state"])) if d.get("compliance") else None


COLUMNS = (
    DeviceColumn("id", "ID", "id", lambda d: d["id"], "int"),
    DeviceColumn("site", _l("Đơn vị"), "site", lambda d: d.get("site_code")),
    DeviceColumn("zone", _l("Vùng"), "zone", _labelled("zone")),
    DeviceColumn("class", _l("Loại"), "class", _labelled("device_class")),
    DeviceColumn("hostname", _l("Tên máy"), "hostname", lambda d: d.get("hostname")),
    DeviceColumn("ip", "IP", "ip", lambda d: d.get("mgmt_ip")),
    DeviceColumn("mac", "MAC", None, lambda d: d.get("macs") or None),
    DeviceColumn("vendor", _l("Hãng"), "vendor", lambda d: d.get("vendor")),
    DeviceColumn("model", "Model", "model", lambda d: d.get("model")),
    DeviceColumn("serial", _l("Sê-ri"), "serial", lambda d: d.get("serial")),
    DeviceColumn("os", _l("Hệ điều hành"), "os", _os),
    DeviceColumn("origin", _l("Xuất xứ"), "origin", lambda d: d.get("country_of_origin")),
    DeviceColumn("purchase_date", _l("Ngày mua"), "purchase_date", lambda d: d.get("purchase_date"), "date"),
    DeviceColumn("user", _l("Người sử dụng"), "user", lambda d: d.get("assigned_user")),
    DeviceColumn("status", _l("Tình trạng"), "status", _labelled("status")),
    DeviceColumn("source", _l("Nguồn"), "source", _labelled("source")),
    DeviceColumn("compliance", _l("Tuân thủ"), None, _compliance),
    DeviceColumn("last_seen", _l("Thấy lần cuối"), "last_seen", lambda d: d.get("last_seen"), "datetime"),
)
BY_KEY = {c.key: c for c in COLUMNS}
KEYS = tuple(c.key for c in COLUMNS)
# What the list showed before columns could be chosen: the default for a user who chose none.
DEFAULT_KEYS = ("id", "site", "zone", "class", "hostname", "ip", "vendor", "model", "serial", "status", "compliance", "last_seen")
assert all(c.sort is None or c.sort in SORTABLE for c in COLUMNS)

# The sort options of the list, in words (the select beside the filters): every sortable column.
SORT_TITLES = {c.sort: c.title for c in COLUMNS if c.sort}
assert set(SORT_TITLES) == set(SORTABLE), "every sort key has a column title"

# The query arguments a saved filter keeps: the filter itself, the order and the page size.
FILTER_KEYS = (*DeviceFilter.__dataclass_fields__, "sort", "desc", "per_page")


def export_columns() -> list[ExportColumn]:
    """Every column for the labelled export, titled in the current language."""
    return [ExportColumn(str(c.title), c.value, c.kind) for c in COLUMNS]
