"""Device credentials: stored encrypted, scoped to a site, zone, device class or device, and
tried from the most specific to the most general (then by priority).

The secret part is sealed with the credential key from KIEMKE_HOME; it is opened only here,
into `SecretStr` values that print as '**********'.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from collectors.records import SnmpCredential, SshCredential, Target
from inventory import audit
from inventory.choices import CredentialKind
from inventory.crypto import Vault
from inventory.models import Credential, Site

SECRET_FIELDS = {
    CredentialKind.SNMP_V2C.value: ("community",),
    CredentialKind.SNMP_V3.value: ("auth_key", "priv_key"),
    CredentialKind.SSH.value: ("password", "secret"),
}
DEFAULT_PORTS = {CredentialKind.SNMP_V2C.value: 161, CredentialKind.SNMP_V3.value: 161, CredentialKind.SSH.value: 22}


class CredentialError(ValueError):
    pass


@dataclass(frozen=True)
class Scope:
    site_id: int | None = None
    zone_kind: str | None = None
    device_class: str | None = None
    device_id: int | None = None


def add_credential(
    session: Session,
    vault: Vault,
    *,
    name: str,
    kind: str,
    secrets: dict[str, str],
    username: str | None = None,
    port: int | None = None,
    priority: int = 100,
    scope: Scope = Scope(),
    actor: str,
    replace: bool = False,
) -> Credential:
    if kind not in SECRET_FIELDS:
        raise CredentialError(f"unknown credential kind {kind!r}; choose one of: {', '.join(SECRET_FIELDS)}")
    required = {"snmp_v2c": ("community",), "snmp_v3": ("auth_key", "priv_key"), "ssh": ("password",)}[kind]
    missing = [field for field in required if not secrets.get(field)]
    if missing:
        raise CredentialError(f"credential {name!r} needs: {', '.join(missing)}")
    if kind in ("snmp_v3", "ssh") and not username:
        raise CredentialError(f"credential {name!r} needs a username")
    if kind == "snmp_v3" and any(len(secrets[f]) < 8 for f in ("auth_key", "priv_key")):
        raise CredentialError("SNMPv3 keys need at least 8 characters")
    existing = session.exec(select(Credential).where(Credential.name == name)).scalars().first()
    if existing and not replace:
        raise CredentialError(f"credential {name!r} already exists")
    sealed = vault.seal({k: v for k, v in secrets.items() if k in SECRET_FIELDS[kind] and v})
    values = dict(
        kind=kind, username=username, port=port, priority=priority, site_id=scope.site_id,
        zone_kind=scope.zone_kind, device_class=scope.device_class, device_id=scope.device_id, secret_token=sealed,
    )  # fmt: skip
    if existing:
        before = audit.snapshot(existing)
        for key, value in values.items():
            setattr(existing, key, value)
        credential = existing
        action = "update"
    else:
        credential = Credential(name=name, **values)
        session.add(credential)
        before, action = None, "create"
    session.flush()
    # The audit log records that a secret changed, never the secret.
    audit.record(session, actor, action, "credential", credential.id, before=before, after=audit.snapshot(credential))
    return credential


def delete_credential(session: Session, name: str, *, actor: str) -> None:
    credential = session.exec(select(Credential).where(Credential.name == name)).scalars().first()
    if credential is None:
        raise CredentialError(f"no credential named {name!r}")
    audit.record(session, actor, "delete", "credential", credential.id, before=audit.snapshot(credential))
    session.delete(credential)


def list_credentials(session: Session) -> list[dict]:
    """Names, kinds and scopes — never the secret."""
    sites = dict(session.execute(select(Site.id, Site.code)).all())
    rows = []
    for c in session.exec(select(Credential).order_by(Credential.kind, Credential.priority, Credential.name)).scalars():
        rows.append(
            {
                "name": c.name, "kind": c.kind, "username": c.username, "port": c.port or DEFAULT_PORTS[c.kind],
                "priority": c.priority, "site": sites.get(c.site_id), "zone": c.zone_kind,
                "device_class": c.device_class, "device_id": c.device_id,
            }
        )  # fmt: skip
    return rows


def _specificity(c: Credential) -> int:
    return (c.device_id is not None) * 8 + (c.device_class is not None) * 4 + (c.zone_kind is not None) * 2 + (c.site_id is not None)


class CredentialBook:
    """All credentials, opened once per run, answering 'which to try for this target, in order'."""

    def __init__(self, session: Session, vault: Vault) -> None:
        self._rows = list(session.exec(select(Credential)).scalars())
        self._vault = vault
        self._site_ids = dict(session.execute(select(Site.code, Site.id)).all())
        self._opened: dict[int, dict] = {}

    def __bool__(self) -> bool:
        return bool(self._rows)

    def _applies(self, c: Credential, target: Target) -> bool:
        site_id = self._site_ids.get(target.site_code or "")
        return (
            (c.site_id is None or c.site_id == site_id)
            and (c.zone_kind is None or c.zone_kind == target.zone)
            and (c.device_class is None or c.device_class == target.device_class)
            and (c.device_id is None or c.device_id == target.device_id)
        )

    def _ordered(self, target: Target, kinds: tuple[str, ...]) -> list[Credential]:
        rows = [c for c in self._rows if c.kind in kinds and self._applies(c, target)]
        return sorted(rows, key=lambda c: (-_specificity(c), c.priority, c.name))

    def _secrets(self, c: Credential) -> dict:
        if c.id not in self._opened:
            self._opened[c.id] = self._vault.open(c.secret_token)
        return self._opened[c.id]

    def snmp(self, target: Target) -> list[SnmpCredential]:
        out = []
        for c in self._ordered(target, ("snmp_v3", "snmp_v2c")):
            s = self._secrets(c)
            port = c.port or 161
            if c.kind == "snmp_v2c":
                out.append(SnmpCredential(name=c.name, version="v2c", community=s["community"], port=port))
            else:
                out.append(SnmpCredential(name=c.name, version="v3", user=c.username, auth_key=s["auth_key"], priv_key=s["priv_key"], port=port))
        return out

    def ssh(self, target: Target) -> list[SshCredential]:
        out = []
        for c in self._ordered(target, ("ssh",)):
            s = self._secrets(c)
            out.append(SshCredential(name=c.name, username=c.username or "", password=s["password"], secret=s.get("secret"), port=c.port or 22))
        return out
