"""Collected facts as people read them on the device page: each observation's key by its label
(web.labels.FACT_LABELS), its value formatted by kind (RAM in GB, disks as "477 GB SSD", an
anti-virus as "Microsoft Defender — bật, cập nhật, mẫu 01/12/2026"), its source by its label.

A value that is not what its key should hold (bad JSON, not a number) is shown as stored: the
page never hides what was collected, nor fails on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext

from web.i18n import day_text
from web.labels import FACT_LABELS, label
from web.procurement import number

SHOWN = 500  # characters of a value that is shown as stored
KB_PER_GB = 1024 * 1024  # as the disk and RAM rules count (compliance.checks.device)
SOFTWARE_NAMES_SHOWN = 5


@dataclass(frozen=True)
class FactRow:
    key: str
    title: str  # the key's label, or the key itself
    value: str  # readable
    raw: str  # as stored (cut to SHOWN)
    source: str
    source_title: str
    observed_at: datetime | None


def fact_rows(observations: Iterable[dict[str, Any]], *, known_first: bool = True) -> list[FactRow]:
    """Rows for observations ({key, value, source, observed_at}); with `known_first` the labelled
    keys come first in FACT_LABELS's order, then the others as given."""
    rows = [FactRow(o["key"], str(FACT_LABELS.get(o["key"], o["key"])), readable(o["key"], o["value"]), _cut(o["value"]), o["source"], label(o["source"]), o.get("observed_at")) for o in observations]
    if known_first:
        order = {key: position for position, key in enumerate(FACT_LABELS)}
        rows.sort(key=lambda r: order.get(r.key, len(order)))  # stable: the rest keep their order
    return rows


def readable(key: str, value: str) -> str:
    formatter = _FORMATTERS.get(key)
    if formatter is None:
        return _cut(value)
    try:
        return formatter(value)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):  # not what the key should hold
        return _cut(value)


def _cut(value: str) -> str:
    return value if len(value) <= SHOWN else value[:SHOWN] + "…"


def _gb(kb: Any) -> str:
    gb = int(kb) / KB_PER_GB
    return number(gb, 0 if gb >= 10 or gb == int(gb) else 1) + " GB"


def _cores(value: str) -> str:
    return str(int(value))


def _disks(value: str) -> str:
    parts = []
    for disk in json.loads(value):
        description, size_kb, kind = (list(disk) + [None])[:3]
        text = _gb(size_kb) + (f" {kind}" if kind else "")
        parts.append(f"{text} ({description})" if description else text)
    return "; ".join(parts) or gettext("không có")


def _antivirus(value: str) -> str:
    products = json.loads(value)
    if not products:
        return gettext("không có")
    parts = []
    for product in products:
        notes = []
        if product.get("enabled") is not None:
            notes.append(gettext("bật") if product["enabled"] else gettext("tắt"))
        if product.get("up_to_date") is not None:
            notes.append(gettext("cập nhật") if product["up_to_date"] else gettext("chưa cập nhật"))
        signatures = day_text(product.get("signature_date")) or product.get("signature_version")
        if signatures:
            notes.append(gettext("mẫu %(signatures)s", signatures=signatures))
        name = product.get("name") or gettext("(không tên)")
        parts.append(f"{name} — {', '.join(notes)}" if notes else name)
    return "; ".join(parts)


def _software(value: str) -> str:
    names = [entry[0] for entry in json.loads(value)]
    shown = ", ".join(names[:SOFTWARE_NAMES_SHOWN]) + ("…" if len(names) > SOFTWARE_NAMES_SHOWN else "")
    return gettext("%(n)s phần mềm", n=len(names)) + (f": {shown}" if shown else "")


def _words(words: dict[str, Callable[[], str]]) -> Callable[[str], str]:
    """A closed vocabulary's codes in words; an unknown code is shown as stored."""

    def readable(value: str) -> str:
        return words[value]() if value in words else _cut(value)

    return readable


def _on() -> str:
    return gettext("bật")


def _off() -> str:
    return gettext("tắt")


_FORMATTERS: dict[str, Callable[[str], str]] = {
    "host.cores": _cores,
    "host.ram_kb": _gb,
    "host.disks": _disks,
    "host.antivirus": _antivirus,
    "host.software": _software,
    "host.disk_encryption": _words({"on": _on, "partial": lambda: gettext("một phần"), "off": _off}),
    "host.secure_boot": _words({"enabled": _on, "disabled": _off, "unsupported": lambda: gettext("không hỗ trợ")}),
    "host.firewall": _words({"on": _on, "off": _off}),
    "host.tpm_version": _words({"0": lambda: gettext("không có")}),  # "0": no TPM (inventory.io.columns.TPM_NONE)
}
