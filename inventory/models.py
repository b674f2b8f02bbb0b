"""The inventory's tables (SQLModel). Schema changes go through alembic migrations.

Enumerated columns are plain strings guarded by CHECK constraints, so SQLite and PostgreSQL
share one schema and adding a value is a one-line migration, not a native ENUM alteration.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from inventory.choices import (
    ChannelKind,
    CredentialKind,
    DeliveryStatus,
    DeviceClass,
    DeviceSource,
    DeviceStatus,
    DossierStatus,
    EventKind,
    FindingStatus,
    Role,
    Severity,
    SiteKind,
    ZoneKind,
    values,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, enum) -> str:
    quoted = ", ".join(f"'{v}'" for v in values(enum))
    return f"{column} IN ({quoted})"


class Province(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=200)


class Site(SQLModel, table=True):
    __table_args__ = (CheckConstraint(_in("kind", SiteKind), name="ck_site_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    province_id: int = Field(foreign_key="province.id", index=True)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=200)  # Vietnamese name, with diacritics
    kind: str = Field(max_length=32)
    poll_interval_minutes: int = Field(default=60)
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class Zone(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("site_id", "kind", name="uq_zone_site_kind"),
        CheckConstraint(_in("kind", ZoneKind), name="ck_zone_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    kind: str = Field(max_length=16)


class Subnet(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("zone_id", "cidr", name="uq_subnet_zone_cidr"),)

    id: int | None = Field(default=None, primary_key=True)
    zone_id: int = Field(foreign_key="zone.id", index=True)
    cidr: str = Field(max_length=64)


class Device(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint(_in("device_class", DeviceClass), name="ck_device_class"),
        CheckConstraint(_in("status", DeviceStatus), name="ck_device_status"),
        CheckConstraint(_in("source", DeviceSource), name="ck_device_source"),
        # Identity: a serial is unique; an IP is unique within its zone.
        UniqueConstraint("serial", name="uq_device_serial"),
        UniqueConstraint("zone_id", "mgmt_ip", name="uq_device_zone_ip"),
        Index("ix_device_site_class", "site_id", "device_class"),
        Index("ix_device_class", "device_class"),  # a class counted over the province (the device list)
        Index("ix_device_vendor", "vendor"),  # the device list's vendor choices
    )

    id: int | None = Field(default=None, primary_key=True)
    device_class: str = Field(max_length=32)
    site_id: int = Field(foreign_key="site.id", index=True)
    zone_id: int | None = Field(default=None, foreign_key="zone.id", index=True)
    hostname: str | None = Field(default=None, max_length=255, index=True)
    mgmt_ip: str | None = Field(default=None, max_length=64)
    vendor: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=200)
    serial: str | None = Field(default=None, max_length=100)
    os_name: str | None = Field(default=None, max_length=100)
    os_version: str | None = Field(default=None, max_length=100)
    country_of_origin: str | None = Field(default=None, max_length=2)  # ISO 3166 alpha-2
    purchase_date: date | None = None
    status: str = Field(default=DeviceStatus.IN_USE.value, max_length=16)
    assigned_user: str | None = Field(default=None, max_length=200)
    source: str = Field(default=DeviceSource.RECORDED.value, max_length=16)
    platform: str | None = Field(default=None, max_length=32)  # netmiko device_type
    reachable: bool | None = None  # None = never polled
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    last_polled: datetime | None = None
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DeviceMac(SQLModel, table=True):
    """A MAC address that belongs to a device (identity rule two)."""

    __tablename__ = "device_mac"

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    mac: str = Field(unique=True, max_length=17)  # normalised aa:bb:cc:dd:ee:ff


class Interface(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("device_id", "if_index", name="uq_interface_device_index"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    if_index: int
    name: str = Field(max_length=255)
    description: str | None = Field(default=None, max_length=1024)
    mac: str | None = Field(default=None, max_length=17)
    speed_mbps: int | None = None
    admin_up: bool | None = None
    oper_up: bool | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class Observation(SQLModel, table=True):
    """One collected fact about a device, with when and how it was seen."""

    __table_args__ = (Index("ix_observation_device_key", "device_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id")
    scan_run_id: int | None = Field(default=None, foreign_key="scan_run.id", index=True)
    observed_at: datetime = Field(default_factory=utcnow)
    source: str = Field(max_length=16)  # snmp, ssh, nmap, import
    key: str = Field(max_length=100)
    value: str = Field(sa_column=Column(Text, nullable=False))


class MacSighting(SQLModel, table=True):
    """Where a MAC address was seen (switch port, ARP) — the input of zone-separation checks."""

    __tablename__ = "mac_sighting"
    __table_args__ = (
        UniqueConstraint("mac", "zone_id", "seen_on_device_id", "port", name="uq_mac_sighting"),
        CheckConstraint("source IN ('fdb', 'arp', 'interface', 'nmap')", name="ck_mac_sighting_source"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mac: str = Field(max_length=17, index=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    zone_id: int = Field(foreign_key="zone.id")
    seen_on_device_id: int | None = Field(default=None, foreign_key="device.id")
    port: str = Field(default="", max_length=255)
    ip: str | None = Field(default=None, max_length=64)
    source: str = Field(max_length=16)
    first_seen: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow)


class ConfigSnapshot(SQLModel, table=True):
    __tablename__ = "config_snapshot"

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    scan_run_id: int | None = Field(default=None, foreign_key="scan_run.id")
    taken_at: datetime = Field(default_factory=utcnow)
    sha256: str = Field(max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))


class ApprovedQuantity(SQLModel, table=True):
    __tablename__ = "approved_quantity"
    __table_args__ = (
        UniqueConstraint("site_id", "device_class", name="uq_approved_site_class"),
        CheckConstraint(_in("device_class", DeviceClass), name="ck_approved_class"),
        CheckConstraint("quantity >= 0", name="ck_approved_quantity_nonneg"),
    )

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    device_class: str = Field(max_length=32)
    quantity: int
    decision_ref: str = Field(default="", max_length=200)


class InformationSystem(SQLModel, table=True):
    __tablename__ = "information_system"
    __table_args__ = (
        CheckConstraint("security_level BETWEEN 1 AND 5", name="ck_infosys_level"),
        CheckConstraint(_in("dossier_status", DossierStatus), name="ck_infosys_dossier"),
    )

    id: int | None = Field(default=None, primary_key=True)
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    name: str = Field(max_length=255)
    security_level: int
    dossier_status: str = Field(default=DossierStatus.NONE.value, max_length=16)
    assessed_on: date | None = None
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class Credential(SQLModel, table=True):
    """Device credentials, tried in priority order; the secret part is Fernet-encrypted."""

    __table_args__ = (
        CheckConstraint(_in("kind", CredentialKind), name="ck_credential_kind"),
        UniqueConstraint("name", name="uq_credential_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=16)
    priority: int = Field(default=100)
    # Scope: any combination; all empty means "everywhere".
    site_id: int | None = Field(default=None, foreign_key="site.id")
    zone_kind: str | None = Field(default=None, max_length=16)
    device_class: str | None = Field(default=None, max_length=32)
    device_id: int | None = Field(default=None, foreign_key="device.id")
    username: str | None = Field(default=None, max_length=100)
    port: int | None = None  # None: the protocol's standard port (161, 22)
    secret_token: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class ScanRun(SQLModel, table=True):
    __tablename__ = "scan_run"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # discover, poll, scan, import-scan
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    status: str = Field(default="running", max_length=16)
    triggered_by: str | None = Field(default=None, max_length=100)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))


class ScanOutcome(SQLModel, table=True):
    """How one device fared in one scan run."""

    __tablename__ = "scan_outcome"
    __table_args__ = (CheckConstraint("status IN ('ok', 'failed', 'skipped')", name="ck_scan_outcome_status"),)

    id: int | None = Field(default=None, primary_key=True)
    scan_run_id: int = Field(foreign_key="scan_run.id", index=True)
    device_id: int | None = Field(default=None, foreign_key="device.id", index=True)
    address: str = Field(max_length=64)
    status: str = Field(max_length=16)
    protocols: str = Field(default="", max_length=64)  # "snmp,ssh" that answered
    error_kind: str | None = Field(default=None, max_length=16)
    message: str | None = Field(default=None, sa_column=Column(Text))
    duration_ms: int = 0
    created_device: bool = False


class Finding(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint(_in("status", FindingStatus), name="ck_finding_status"),
        CheckConstraint(_in("severity", Severity), name="ck_finding_severity"),
        UniqueConstraint("rule_id", "subject_key", name="uq_finding_rule_subject"),
        # Covering indexes for the overview's counts (open by site and severity; by rule), for
        # "has an open finding" per device (device list, schedule) and the findings list's pages.
        # device_id too: one site's findings sorted by device never read the finding rows
        Index("ix_finding_status_site_severity_device", "status", "site_id", "severity", "device_id"),
        Index("ix_finding_rule_severity_status", "rule_id", "severity", "status"),
        Index("ix_finding_status_device", "status", "device_id"),
        Index("ix_finding_status_severity_rule", "status", "severity", "rule_id", "id"),  # the findings list's order
        Index("ix_finding_status_site_rule", "status", "site_id", "rule_id"),  # each site's top failing rules
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_id: str = Field(max_length=64)
    subject_key: str = Field(max_length=128)  # "device:42", "site:7", "site:7:party_wan"
    device_id: int | None = Field(default=None, foreign_key="device.id", index=True)
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    severity: str = Field(max_length=16)
    expected: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    actual: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default=FindingStatus.OPEN.value, max_length=16)
    first_seen: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
    waiver_reason: str | None = Field(default=None, sa_column=Column(Text))
    waiver_expires: date | None = None
    waived_by: str | None = Field(default=None, max_length=100)


class User(SQLModel, table=True):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    __table_args__ = (CheckConstraint(_in("role", Role), name="ck_user_role"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=100)
    full_name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=32)
    active: bool = True
    must_change_password: bool = False
    api_token_hash: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
    last_login: datetime | None = None


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=100)  # username, or "cli:<os user>", "system"
    action: str = Field(max_length=32)  # create, update, delete, import, login, ...
    entity: str = Field(max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class DataRevision(SQLModel, table=True):
    """One row: the revision number every committed change moves on (inventory/revision.py)."""

    __tablename__ = "data_revision"

    id: int = Field(primary_key=True)
    n: int = Field(default=0)


class DeviceCompliance(SQLModel, table=True):
    """A device's compliance state as of its last evaluation (compliance/state.py decides it):
    compliant, non_compliant or unknown, with the reasons."""

    __tablename__ = "device_compliance"
    __table_args__ = (CheckConstraint("state IN ('compliant', 'non_compliant', 'unknown')", name="ck_device_compliance_state"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", unique=True)
    state: str = Field(max_length=16)
    evaluated_at: datetime
    data_as_of: datetime | None = None  # when its data was last collected; None: never
    failed_rules: int = Field(default=0)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class SiteSnapshot(SQLModel, table=True):
    """One site's compliance, findings and coverage on one day: the trends' data, taken daily by
    the scheduler (and on demand); one row per site and day, a later one that day replaces it."""

    __tablename__ = "site_snapshot"
    __table_args__ = (UniqueConstraint("site_id", "day", name="uq_site_snapshot_day"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    day: date = Field(index=True)
    taken_at: datetime = Field(default_factory=utcnow)
    devices: int = 0  # in the inventory (disposed ones left out)
    compliant: int = 0
    non_compliant: int = 0
    unknown: int = 0
    critical: int = 0  # open findings by severity
    high: int = 0
    medium: int = 0
    low: int = 0
    polled_on_time: int = 0  # coverage (compliance/coverage.py)
    answering: int = 0
    config_collected: int = 0


class Event(SQLModel, table=True):
    """Something the security office should hear about: shown in the overview's feed, delivered by
    the notification channels. `key` makes raising the same event twice a no-op."""

    __tablename__ = "event"
    __table_args__ = (
        CheckConstraint(_in("kind", EventKind), name="ck_event_kind"),
        CheckConstraint(_in("severity", Severity), name="ck_event_severity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)
    severity: str = Field(max_length=16)
    key: str = Field(max_length=255, unique=True)  # e.g. "new_critical_finding:finding:12"
    created_at: datetime = Field(default_factory=utcnow, index=True)
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    device_id: int | None = Field(default=None, foreign_key="device.id")
    finding_id: int | None = Field(default=None, foreign_key="finding.id")
    scan_run_id: int | None = Field(default=None, foreign_key="scan_run.id")
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # what the message is made of


class NotificationChannel(SQLModel, table=True):
    """Where events are delivered: an SMTP server (e-mail) or a webhook (JSON, HMAC-signed).
    The password or signing key is sealed by the credential key and never shown again."""

    __tablename__ = "notification_channel"
    __table_args__ = (CheckConstraint(_in("kind", ChannelKind), name="ck_channel_kind"), CheckConstraint(_in("min_severity", Severity), name="ck_channel_severity"))

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    kind: str = Field(max_length=16)
    enabled: bool = True
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # host, port, sender, recipients / url
    secret_token: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    min_severity: str = Field(default=Severity.HIGH.value, max_length=16)
    kinds: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # empty: every kind
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class EventDelivery(SQLModel, table=True):
    """One event to one channel: retried with a growing delay until sent or given up."""

    __tablename__ = "event_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "channel_id", name="uq_event_delivery"),
        CheckConstraint(_in("status", DeliveryStatus), name="ck_event_delivery_status"),
        Index("ix_event_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    channel_id: int = Field(foreign_key="notification_channel.id", index=True)
    status: str = Field(default=DeliveryStatus.PENDING.value, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class AgentAccount(SQLModel, table=True):
    """The HTTP basic-auth account endpoint agents of one site report with (collectors/agents).
    Only a hash of its password is kept: the password is random and long, shown once."""

    __tablename__ = "agent_account"
    __table_args__ = (CheckConstraint(_in("zone_kind", ZoneKind), name="ck_agent_account_zone"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)  # the HTTP user
    site_id: int = Field(foreign_key="site.id", index=True)
    zone_kind: str | None = Field(default=None, max_length=16)  # for machines whose addresses fit no subnet
    password_hash: str = Field(max_length=128)
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(default="", max_length=100)
    last_used_at: datetime | None = None
    reports: int = 0


class AgentMachine(SQLModel, table=True):
    """A machine as its agent names it, and the device it is: identity for machines without a
    serial (virtual machines report an empty one), and what the last report was."""

    __tablename__ = "agent_machine"

    id: int | None = Field(default=None, primary_key=True)
    deviceid: str = Field(unique=True, max_length=255)  # the agent's own id of the machine
    device_id: int = Field(foreign_key="device.id", index=True)
    account_id: int | None = Field(default=None, foreign_key="agent_account.id")
    uuid: str | None = Field(default=None, max_length=64, index=True)
    agent: str | None = Field(default=None, max_length=100)
    protocol: str = Field(default="json", max_length=8)
    first_report_at: datetime = Field(default_factory=utcnow)
    last_report_at: datetime = Field(default_factory=utcnow)
    content_sha256: str | None = Field(default=None, max_length=64)  # of the last report's content: a repeat changes nothing


class RevokedSession(SQLModel, table=True):
    """A web session ended by its logout, kept until a cookie carrying it would have expired
    anyway: a copy of the cookie taken before the logout is refused by every process, also after
    a restart. The session id itself is not stored, only its SHA-256."""

    __tablename__ = "revoked_session"

    sid_sha256: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(index=True)


class SavedFilter(SQLModel, table=True):
    """A list's filter a user named and kept (the list's query string), shown to its owner and,
    when `shared`, to everyone (inventory/list_prefs.py)."""

    __tablename__ = "saved_filter"
    __table_args__ = (UniqueConstraint("owner_id", "list_name", "name", name="uq_saved_filter_owner_list_name"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="app_user.id", index=True)
    list_name: str = Field(max_length=32)  # "devices"
    name: str = Field(max_length=100)
    query: str = Field(max_length=2000)  # the list's query string, only its known arguments
    shared: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class ListColumns(SQLModel, table=True):
    """Which columns a user chose to see on a list (in the list's order); no row: the default."""

    __tablename__ = "list_columns"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    list_name: str = Field(primary_key=True, max_length=32)
    columns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class PlanScenario(SQLModel, table=True):
    """A what-if scenario of the fundable plan: a planner's copy of the policy's phasing, unit
    prices, budget lines and target percentages (compliance.scenarios.ScenarioData as JSON),
    edited without touching the policy. `version` moves on with every edit: cached plans of a
    scenario are kept per version (the table is not tracked by the data revision)."""

    __tablename__ = "plan_scenario"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=utcnow)


# -- collectors per site-zone (collectors/fleet): the hub's register and the collector's own side --


class Collector(SQLModel, table=True):
    """A collector the hub has registered (hub side): a kiemke inside one site-zone that polls
    what the hub cannot reach and forwards its results, signed with its Ed25519 key. The hub
    applies only results for this site and zone. What the collector last said about its outbox
    (pending, oldest unacknowledged) is kept for coverage."""

    __tablename__ = "collector"
    __table_args__ = (
        CheckConstraint(_in("zone_kind", ZoneKind), name="ck_collector_zone"),
        CheckConstraint("status IN ('active', 'revoked')", name="ck_collector_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    site_id: int = Field(foreign_key="site.id", index=True)
    zone_kind: str = Field(max_length=16)
    signing_key: str = Field(max_length=64)  # Ed25519 public key, base64: verifies every batch
    box_key: str = Field(max_length=64)  # X25519 public key, base64: the assignment's credentials are sealed to it
    status: str = Field(default="active", max_length=16)
    registered_at: datetime = Field(default_factory=utcnow)
    registered_by: str = Field(default="", max_length=100)
    last_contact_at: datetime | None = None
    last_contact_via: str | None = Field(default=None, max_length=8)  # https, file
    acked_seq: int = 0  # the highest batch number up to which every batch was received
    reported_pending: int | None = None  # the collector's outbox at its last contact
    oldest_unacked_at: datetime | None = None
    reported_dropped: int = 0  # results it could not queue because its outbox was full
    assignment_version: int = 0


class CollectorBatch(SQLModel, table=True):
    """One numbered batch of results received from a collector (hub side). (collector, seq) is
    unique: a batch sent twice, over HTTPS and then in an air-gap file, is applied once."""

    __tablename__ = "collector_batch"
    __table_args__ = (
        UniqueConstraint("collector_id", "seq", name="uq_collector_batch_seq"),
        CheckConstraint("status IN ('queued', 'applied', 'refused', 'failed')", name="ck_collector_batch_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    collector_id: int = Field(foreign_key="collector.id", index=True)
    seq: int
    kind: str = Field(max_length=16)  # poll, discover, agent
    created_at: datetime  # on the collector, when the result was stored there
    received_at: datetime = Field(default_factory=utcnow)
    received_via: str = Field(default="https", max_length=8)
    status: str = Field(default="queued", max_length=16)
    body: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # cleared once applied
    body_bytes: int = 0
    applied_at: datetime | None = None
    scan_run_id: int | None = Field(default=None, foreign_key="scan_run.id")
    error: str | None = Field(default=None, sa_column=Column(Text))


class CollectorIdentity(SQLModel, table=True):
    """This database's collector identity (collector side; one row, id 1). Its presence makes the
    database a collector's: every run's results also enter the outbox. The key pairs live in
    KIEMKE_HOME (files 0600), like the credential key, never in the database."""

    __tablename__ = "collector_identity"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    hub_url: str | None = Field(default=None, max_length=500)  # None: offline, air-gap files only
    hub_key: str | None = Field(default=None, max_length=64)  # the hub's Ed25519 key, pinned by the first assignment
    site_code: str | None = Field(default=None, max_length=32)
    zone_kind: str | None = Field(default=None, max_length=16)
    assignment: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # without credentials
    assignment_version: int = 0
    next_seq: int = 1  # numbers are handed out in the writing transaction: contiguous
    acked_seq: int = 0
    dropped: int = 0  # results not queued because the outbox was at its cap
    dropped_since: datetime | None = None
    last_upload_at: datetime | None = None
    last_upload_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)


class OutboxEntry(SQLModel, table=True):
    """One result waiting for the hub's acknowledgement (collector side), written in the same
    transaction as the collector's own data. `body` is zlib-compressed JSON (collectors/fleet/wire)."""

    __tablename__ = "outbox_entry"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size_bytes: int = 0
