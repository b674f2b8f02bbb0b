"""What an endpoint agent said, as kiemke keeps it: one typed record for both protocols (GLPI
Agent's JSON, FusionInventory's and OCS's XML).

A field left None was not in the message: a GLPI Agent *partial* inventory sends only the
sections that changed, and what it did not send must be kept as it is, never cleared. An empty
tuple means "sent, and empty" (a machine with no anti-virus at all).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Literal

Protocol = Literal["json", "xml"]
# How the body was compressed; the answer goes back the same way.
Encoding = Literal["zlib", "gzip", "plain"]


@dataclass(frozen=True)
class AgentStorage:
    """A fixed disk. `kind` is "SSD" or "HDD" where the agent tells (GLPI Agent on Windows)."""

    description: str
    size_kb: int
    kind: Literal["SSD", "HDD"] | None = None


@dataclass(frozen=True)
class AgentAntivirus:
    name: str
    company: str | None = None
    version: str | None = None
    enabled: bool | None = None
    up_to_date: bool | None = None
    signature_version: str | None = None
    signature_date: date | None = None
    license_expiration: date | None = None  # the product's licence (`expiration`), not the signatures'


@dataclass(frozen=True)
class AgentNic:
    description: str
    mac: str | None = None  # normalised (inventory.identity.normalize_mac), None when absent or invalid
    addresses: tuple[str, ...] = ()  # IPv4 addresses
    virtual: bool = False


@dataclass(frozen=True)
class AgentReport:
    """One inventory of one machine."""

    deviceid: str  # the agent's own id of the machine ("host-2026-12-02-04-27-55")
    protocol: Protocol
    partial: bool = False  # only the sections sent; the rest stays as recorded
    agent: str | None = None  # e.g. "FusionInventory-Agent_v2.6", "GLPI-Agent_v1.12"
    hostname: str | None = None
    serial: str | None = None  # BIOS serial (empty in a VM: then None)
    uuid: str | None = None
    vendor: str | None = None  # system manufacturer
    model: str | None = None
    chassis: str | None = None  # "Laptop", "Notebook", "Desktop", ... as reported
    cpu_model: str | None = None
    cores: int | None = None  # physical cores, all CPUs
    threads: int | None = None
    ram_kb: int | None = None
    storages: tuple[AgentStorage, ...] | None = None
    os_name: str | None = None  # "Windows 11 Pro", "Debian GNU/Linux"
    os_version: str | None = None  # "23H2", "12"
    os_build: str | None = None  # "22631.4460", kernel version on Linux
    antivirus: tuple[AgentAntivirus, ...] | None = None
    # Volume encryption of the system drive(s): "on" (all encrypted), "partial", "off"; None: not reported.
    encryption: Literal["on", "partial", "off"] | None = None
    encryption_detail: str | None = None  # e.g. "C: BitLocker XTS-AES 128"
    secure_boot: Literal["enabled", "disabled", "unsupported"] | None = None
    firewall: Literal["on", "off"] | None = None  # "on" only when every reported profile is on
    nics: tuple[AgentNic, ...] | None = None

    @property
    def macs(self) -> tuple[str, ...]:
        """The machine's own physical MACs (virtual adapters are left out: they repeat across machines)."""
        return tuple(dict.fromkeys(n.mac for n in self.nics or () if n.mac and not n.virtual))

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a for n in self.nics or () for a in n.addresses))


def report_to_json(report: AgentReport) -> dict:
    """The report as plain JSON values (dates as ISO text): how a parser child hands it back."""
    return asdict(report, dict_factory=lambda pairs: {k: v.isoformat() if isinstance(v, date) else v for k, v in pairs})


def report_from_json(data: dict) -> AgentReport:
    """The inverse of report_to_json."""

    def day(text: str | None) -> date | None:
        return date.fromisoformat(text) if text else None

    def each(key: str, build):
        items = data.get(key)
        return None if items is None else tuple(build(item) for item in items)

    return AgentReport(
        **{k: v for k, v in data.items() if k not in ("storages", "antivirus", "nics")},
        storages=each("storages", lambda s: AgentStorage(**s)),
        antivirus=each("antivirus", lambda a: AgentAntivirus(**a | {"signature_date": day(a.get("signature_date")), "license_expiration": day(a.get("license_expiration"))})),
        nics=each("nics", lambda n: AgentNic(**n | {"addresses": tuple(n.get("addresses") or ())})),
    )
