"""A collector's assignment, built and signed by the hub: which site and zone it serves, the
zone's subnets and recorded devices, the credentials it needs for them (sealed to its box key:
only that collector can open them), and the policy it is judged by.

The version goes up only when the content changes, so a collector that asks every minute takes
a new one only when there is something new. What the content was is kept as a keyed digest in
the audit log (entity "collector_assignment": who was given which version, how many devices and
credentials); the digest is an HMAC under the hub's key, so it says nothing about the secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from importlib import metadata

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import or_, select
from sqlmodel import Session

from collectors.fleet import wire
from collectors.fleet.identity import hub_key, hub_public, hub_sign, seal_to
from compliance.policy import DEFAULT_POLICY_DIR, FILES, policy_fingerprint
from inventory import audit
from inventory.crypto import Vault
from inventory.models import AuditLog, Collector, Credential, Device, Province, Site, Zone, utcnow
from inventory.repository import in_inventory, zone_subnets
from inventory.settings import Settings

HUB_SIGNER = "hub"  # the signer line of the frames the hub signs (the collector checks the pinned key)
AUDIT_ENTITY = "collector_assignment"
DEVICE_FIELDS = ("hostname", "device_class", "vendor", "model", "serial", "platform", "os_name", "os_version", "status")


@dataclass(frozen=True)
class Issued:
    frame: bytes
    version: int
    devices: int
    credentials: int
    changed: bool  # a new version was issued by this call


def policy_versions() -> tuple[str, str]:
    """(policy version, rule-pack version): the policy files' fingerprint, and kiemke's version
    with the fingerprint of the baseline (the rules) the collector's checks follow."""
    baseline = (DEFAULT_POLICY_DIR / FILES["baseline"]).read_bytes() if (DEFAULT_POLICY_DIR / FILES["baseline"]).exists() else b""
    try:
        package = metadata.version("kiemke")
    except metadata.PackageNotFoundError:
        package = "dev"
    return policy_fingerprint()[:16], f"{package}+{hashlib.sha256(baseline).hexdigest()[:12]}"


def _site_document(session: Session, site: Site) -> dict:
    province = session.get(Province, site.province_id)
    return {"code": site.code, "name": site.name, "kind": site.kind, "province": {"code": province.code, "name": province.name} if province else None}


def _devices(session: Session, zone: Zone) -> list[Device]:
    query = select(Device).where(Device.zone_id == zone.id, Device.mgmt_ip.is_not(None), in_inventory()).order_by(Device.id)
    return list(session.execute(query).scalars())


def _credentials(session: Session, vault: Vault, site: Site, zone: Zone, devices: list[Device]) -> list[dict]:
    """The credentials the hub itself would try for these devices (collectors.credentials.CredentialBook's
    scoping: site, zone, device class, device), opened. A device-scoped one names its device by address."""
    addresses = {d.id: d.mgmt_ip for d in devices}
    query = select(Credential).where(
        or_(Credential.site_id.is_(None), Credential.site_id == site.id),
        or_(Credential.zone_kind.is_(None), Credential.zone_kind == zone.kind),
    ).order_by(Credential.name)  # fmt: skip
    out = []
    for credential in session.execute(query).scalars():
        if credential.device_id is not None and credential.device_id not in addresses:
            continue  # scoped to a device of another zone
        secrets = {k: v.get_secret_value() for k, v in vault.open(credential.secret_token).items()}
        out.append({
            "name": credential.name, "kind": credential.kind, "username": credential.username, "port": credential.port, "priority": credential.priority,
            "zone_kind": credential.zone_kind, "device_class": credential.device_class,
            "device_address": addresses.get(credential.device_id) if credential.device_id is not None else None, "secrets": secrets,
        })  # fmt: skip
    return out


def _content(session: Session, vault: Vault, collector: Collector) -> tuple[dict, list[dict]]:
    """The assignment without its version, time and sealing, and the credentials in clear."""
    site = session.get(Site, collector.site_id)
    zone = session.execute(select(Zone).where(Zone.site_id == site.id, Zone.kind == collector.zone_kind)).scalar_one_or_none()
    subnets = zone_subnets(session).get(zone.id, []) if zone is not None else []
    devices = _devices(session, zone) if zone is not None else []
    credentials = _credentials(session, vault, site, zone, devices) if zone is not None else []
    policy_version, rules_version = policy_versions()
    content = {
        "format": wire.ASSIGNMENT_FORMAT, "collector": collector.name, "site": _site_document(session, site), "zone": collector.zone_kind,
        "subnets": sorted(subnets),
        "devices": [{"address": d.mgmt_ip, **{f: getattr(d, f) for f in DEVICE_FIELDS}} for d in devices],
        "policy_version": policy_version, "rules_version": rules_version,
    }  # fmt: skip
    return content, credentials


def _digest(settings: Settings, content: dict, credentials: list[dict], box_key: str) -> str:
    key = hub_key(settings).private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    data = json.dumps([content, credentials, box_key], sort_keys=True, ensure_ascii=False, default=str).encode()
    return hmac.new(key, data, hashlib.sha256).hexdigest()[:32]


def _last_digest(session: Session, collector: Collector) -> str | None:
    after = session.execute(
        select(AuditLog.after).where(AuditLog.entity == AUDIT_ENTITY, AuditLog.entity_id == str(collector.id)).order_by(AuditLog.id.desc()).limit(1)
    ).scalar_one_or_none()  # fmt: skip
    return (after or {}).get("digest")


def issue(session: Session, settings: Settings, vault: Vault, collector: Collector, *, actor: str) -> Issued:
    """The current assignment of `collector` as a frame signed by the hub; a new version (audit-logged)
    when its content differs from the last one issued. Runs in the caller's transaction."""
    content, credentials = _content(session, vault, collector)
    digest = _digest(settings, content, credentials, collector.box_key)
    changed = collector.assignment_version == 0 or digest != _last_digest(session, collector)
    if changed:
        collector.assignment_version += 1
        audit.record(session, actor, "issue", AUDIT_ENTITY, collector.id,
                     after={"collector": collector.name, "version": collector.assignment_version, "digest": digest, "devices": len(content["devices"]),
                            "credentials": len(credentials), "subnets": content["subnets"]})  # fmt: skip
        session.flush()
    key = hub_key(settings)
    sealed = seal_to(collector.box_key, json.dumps(credentials, sort_keys=True).encode()) if credentials else None
    document = content | {"version": collector.assignment_version, "issued_at": utcnow(), "hub_key": hub_public(key), "credentials": sealed}
    payload = wire.pack_json(document)
    frame = wire.Frame(wire.ASSIGNMENT, HUB_SIGNER, hub_sign(key, payload), payload).to_bytes()
    return Issued(frame, collector.assignment_version, len(content["devices"]), len(credentials), changed)
