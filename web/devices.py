"""Devices: the filtered, sorted, paginated list, its export, and one device's page."""

from __future__ import annotations

import io
import tempfile
from datetime import date
from pathlib import Path

from flask import Blueprint, abort, render_template, request, send_file

from collectors.queries import config_snapshots
from compliance.findings import FindingFilter, list_findings
from compliance.lifecycle import end_of_life_condition
from inventory.choices import DeviceClass, DeviceSource, DeviceStatus, ZoneKind, values
from inventory.io.exporter import export_file
from inventory.redact import mask_config, masked_diff
from inventory.repository import COMPLIANCE_STATES, REPORTING_SOURCES, SORTABLE, DeviceFilter, compliance_counts, compliance_of, count_devices, list_devices
from web import queries
from web.access import EVERYONE, EXPORTERS, may_export, role_required
from web.database import cached, get_session
from web.facts import fact_rows
from web.paging import PER_PAGE_CHOICES, Page, int_arg
from web.procurement import number

bp = Blueprint("devices", __name__, url_prefix="/devices")

EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _filter() -> DeviceFilter:
    try:
        return DeviceFilter.from_mapping({k: v.strip() for k, v in request.args.items() if isinstance(v, str)})
    except ValueError as exc:  # a state that is none of the three: refused, never "no filter"
        abort(400, str(exc))


def filtered_compliance(flt: DeviceFilter) -> dict[str, int]:
    """The three compliance counts of the filtered list, kept until the data changes."""
    db = get_session()
    today = date.today()
    return cached(("devices.compliance", flt, today), lambda: compliance_counts(db, flt, today=today, end_of_life=end_of_life_condition), store="kiemke.counts")


def list_devices_page(flt: DeviceFilter, *, page: int = 1, per_page: int | None = 50, **sorting) -> tuple[list[dict], int]:
    """list_devices() with the total kept until the data changes (counting is most of the cost)."""
    db = get_session()
    today = date.today()
    total = cached(("devices.count", flt, today), lambda: count_devices(db, flt, today=today, end_of_life=end_of_life_condition), store="kiemke.counts")
    return list_devices(db, flt, today=today, end_of_life=end_of_life_condition, total=total, page=page, per_page=per_page, **sorting)


@bp.route("/")
@role_required(*EVERYONE)
def index():
    db = get_session()
    flt = _filter()
    sort = request.args.get("sort", "id")
    if sort not in SORTABLE:
        sort = "id"
    descending = request.args.get("desc") == "1"
    page = Page.from_args(request.args)
    rows, total = list_devices_page(flt, sort=sort, descending=descending, page=page.number, per_page=page.per_page)
    return render_template(
        "devices/list.html",
        rows=rows,
        page=page.with_total(total),
        flt=flt,
        compliance=filtered_compliance(flt),
        compliance_states=COMPLIANCE_STATES,
        reporting_sources=REPORTING_SOURCES,
        num=number,
        sort=sort,
        descending=descending,
        sortable=list(SORTABLE),
        per_page_choices=PER_PAGE_CHOICES,
        can_export=may_export(),
        choices={
            "zone": values(ZoneKind),
            "device_class": values(DeviceClass),
            "status": values(DeviceStatus),
            "source": values(DeviceSource),
        },
        sites=cached("site_codes", lambda: queries.site_codes(db)),
        vendors=cached("devices.vendors", lambda: queries.vendors(db)),
    )


@bp.route("/export.<fmt>")
@role_required(*EXPORTERS)
def export(fmt: str):
    if fmt not in EXPORT_TYPES:
        abort(404)
    with tempfile.TemporaryDirectory(prefix="kiemke-export-") as tmp:
        path = Path(tmp) / f"thiet-bi.{fmt}"
        export_file(get_session(), "devices", path, _filter(), end_of_life=end_of_life_condition)
        data = path.read_bytes()
    return send_file(io.BytesIO(data), mimetype=EXPORT_TYPES[fmt], as_attachment=True, download_name=f"thiet-bi.{fmt}")


@bp.route("/<int:device_id>")
@role_required(*EVERYONE)
def detail(device_id: int):
    db = get_session()
    device = queries.device_detail(db, device_id)
    if device is None:
        abort(404)
    snapshots = config_snapshots(db, device_id)  # newest first
    ids = [s["id"] for s in snapshots]
    new_id = int_arg(request.args, "new", ids[0] if ids else 0)
    old_default = next((i for i in ids if i < new_id), 0)
    old_id = int_arg(request.args, "old", old_default)
    new_snap = queries.config_snapshot(db, device_id, new_id) if ids else None
    old_snap = queries.config_snapshot(db, device_id, old_id) if ids else None
    diff = ""
    if new_snap and old_snap and old_snap["id"] != new_snap["id"]:
        diff = masked_diff(
            old_snap["text"], new_snap["text"],
            f"#{old_snap['id']} {old_snap['taken_at']:%Y-%m-%d %H:%M}", f"#{new_snap['id']} {new_snap['taken_at']:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    findings, _ = list_findings(db, FindingFilter(device_id=device_id), per_page=None)
    return render_template(
        "devices/detail.html",
        device=device,
        interfaces=queries.device_interfaces(db, device_id),
        facts=fact_rows(queries.latest_observations(db, device_id)),
        history=fact_rows(queries.observation_history(db, device_id, limit=100), known_first=False),
        snapshots=snapshots,
        new_snap=new_snap,
        old_snap=old_snap,
        config_text=mask_config(new_snap["text"]) if new_snap else "",
        diff=diff,
        findings=findings,
        titles=queries.rule_titles(),
        compliance=None if device["status"] == "disposed" else compliance_of(db, [device_id])[device_id],
        verdicts=None if device["status"] == "disposed" else queries.device_rule_verdicts(db, device_id),
    )
