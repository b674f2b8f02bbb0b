"""Adopting a discovered device: what a scan found and nobody recorded joins the inventory, and is
re-evaluated as soon as the caller commits."""

from __future__ import annotations

from sqlmodel import Session

from inventory import audit
from inventory.changes import changed_on_commit
from inventory.choices import DeviceSource
from inventory.models import Device, utcnow


class AdoptError(ValueError):
    pass


class UnknownDevice(AdoptError):
    def __init__(self, device_id: int):
        super().__init__(f"no device #{device_id}")
        self.device_id = device_id


class AlreadyRecorded(AdoptError):
    def __init__(self, device_id: int):
        super().__init__(f"device #{device_id} is already in the inventory")
        self.device_id = device_id


def adopt_device(session: Session, device_id: int, *, device_class: str, hostname: str | None, actor: str) -> Device:
    """Record a discovered device with its class (and a hostname, when one is given); audit-logged."""
    device = session.get(Device, device_id)
    if device is None:
        raise UnknownDevice(device_id)
    if device.source != DeviceSource.DISCOVERED.value:
        raise AlreadyRecorded(device_id)
    before = audit.snapshot(device)
    device.source = DeviceSource.RECORDED.value
    device.device_class = device_class
    hostname = (hostname or "").strip()
    if hostname:
        device.hostname = hostname
    device.updated_at = utcnow()
    session.add(device)
    session.flush()
    audit.record(session, actor, "adopt", "device", device.id, before=before, after=audit.snapshot(device))
    # A recorded device is one the rules judge: re-evaluated once the caller commits.
    changed_on_commit(session, device_ids=[device.id], site_ids=[device.site_id], trigger="adopt", actor=actor)
    return device
