"""inventory.site_edit: a site's values and approved quantities checked, written, audited with
before and after, announced for re-evaluation, and refused whole on a stale version."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from inventory import changes
from inventory.models import ApprovedQuantity, AuditLog, Site
from inventory.site_edit import (
    EditConflict,
    InvalidValues,
    SiteEditError,
    approved_quantities,
    recorded_values,
    update_approved,
    update_site,
    version_of,
)
from tests.inventory.factories import make_province

pytestmark = pytest.mark.db


@pytest.fixture
def site_id(session) -> int:
    province = make_province(session, sites=2)
    session.commit()
    return province["S1"]["site"]


def audit(session: Session, entity: str) -> list[AuditLog]:
    return list(session.exec(select(AuditLog).where(AuditLog.entity == entity).order_by(AuditLog.id)))


def test_update_site_writes_audits_and_announces(session, site_id):
    before = recorded_values(session, site_id)
    done = update_site(session, site_id, {"name": "  Xã Mới  ", "kind": "ward", "poll_interval_minutes": "30", "notes": before["notes"]}, version_of(before), actor="so")
    assert {c.column for c in done} == {"name", "kind", "poll_interval_minutes"}
    pending = session.info[changes._PENDING]
    assert pending[-1].change.site_ids == {site_id} and pending[-1].change.trigger == "edit"
    session.commit()
    site = session.get(Site, site_id)
    assert (site.name, site.kind, site.poll_interval_minutes) == ("Xã Mới", "ward", 30)
    (entry,) = audit(session, "site")
    assert entry.before == {"name": before["name"], "kind": before["kind"], "poll_interval_minutes": before["poll_interval_minutes"]}
    assert entry.after == {"name": "Xã Mới", "kind": "ward", "poll_interval_minutes": 30}
    assert update_site(session, site_id, {"name": "Xã Mới"}, None, actor="so") == []  # nothing changed: nothing written


def test_bad_values_are_refused_with_codes_and_nothing_written(session, site_id):
    before = recorded_values(session, site_id)
    with pytest.raises(InvalidValues) as refused:
        update_site(session, site_id, {"name": " ", "kind": "city", "poll_interval_minutes": "2"}, version_of(before), actor="so")
    assert {(e.field, e.code) for e in refused.value.errors} == {("name", "required"), ("kind", "bad_choice"), ("poll_interval_minutes", "out_of_range")}
    with pytest.raises(InvalidValues) as refused:
        update_site(session, site_id, {"poll_interval_minutes": "mười"}, None, actor="so")
    assert refused.value.errors[0].code == "not_a_number"
    with pytest.raises(SiteEditError):
        update_site(session, site_id, {"code": "S7"}, None, actor="so")
    assert recorded_values(session, site_id) == before and audit(session, "site") == []


def test_a_stale_version_is_refused(session, site_id):
    stale = version_of(recorded_values(session, site_id))
    update_site(session, site_id, {"name": "Người khác sửa"}, stale, actor="other")
    session.commit()
    with pytest.raises(EditConflict):
        update_site(session, site_id, {"name": "Tôi sửa"}, stale, actor="so")
    assert recorded_values(session, site_id)["name"] == "Người khác sửa"


def test_approved_quantities_per_class(session, site_id):
    current = approved_quantities(session, site_id)
    assert set(current.values()) == {0}
    done = update_approved(session, site_id, {"laptop": "7", "firewall": "0"}, version_of(current), actor="so")
    assert [(c.column, c.before, c.after) for c in done] == [("laptop", 0, 7)]
    session.commit()
    assert approved_quantities(session, site_id)["laptop"] == 7
    update_approved(session, site_id, {"laptop": "3"}, None, actor="so")
    session.commit()
    rows = list(session.exec(select(ApprovedQuantity).where(ApprovedQuantity.site_id == site_id)))
    assert [(r.device_class, r.quantity) for r in rows] == [("laptop", 3)]
    entries = audit(session, "approved_quantity")
    assert [(e.entity_id, e.before, e.after) for e in entries] == [
        (f"{site_id}:laptop", {"quantity": 0}, {"quantity": 7}),
        (f"{site_id}:laptop", {"quantity": 7}, {"quantity": 3}),
    ]


def test_approved_quantities_refuse_negatives_and_stale_versions(session, site_id):
    version = version_of(approved_quantities(session, site_id))
    with pytest.raises(InvalidValues) as refused:
        update_approved(session, site_id, {"laptop": "-1", "firewall": "x", "access_switch": ""}, version, actor="so")
    assert {(e.field, e.code) for e in refused.value.errors} == {("laptop", "out_of_range"), ("firewall", "not_a_number"), ("access_switch", "required")}
    update_approved(session, site_id, {"laptop": "2"}, version, actor="other")
    session.commit()
    with pytest.raises(EditConflict):
        update_approved(session, site_id, {"laptop": "5"}, version, actor="so")
    assert approved_quantities(session, site_id)["laptop"] == 2


def test_a_writer_between_the_read_and_the_write_is_not_overwritten(session, site_id, monkeypatch):
    update_approved(session, site_id, {"laptop": "2"}, None, actor="other")
    session.commit()
    # The values as read before the other writer's commit: the conditional write matches nothing.
    stale = {**approved_quantities(session, site_id), "laptop": 0}
    monkeypatch.setattr("inventory.site_edit.approved_quantities", lambda _session, _site_id: dict(stale))
    with pytest.raises(EditConflict):
        update_approved(session, site_id, {"laptop": "5", "firewall": "1"}, version_of(stale), actor="so")
    monkeypatch.undo()
    assert approved_quantities(session, site_id)["laptop"] == 2 and approved_quantities(session, site_id)["firewall"] == 0
    assert len(audit(session, "approved_quantity")) == 1
