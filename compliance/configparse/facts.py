"""The facts read from a running-config: platform-neutral, frozen, with evidence lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from inventory.choices import Platform, values
from inventory.secret_lines import MASK, WELL_KNOWN_COMMUNITIES  # noqa: F401  (re-exported: evidence masks as stored configs do)

T = TypeVar("T")

PLATFORMS = tuple(values(Platform))

SecurityLevel = Literal["noauth", "auth", "priv"]
SecretKind = Literal["hashed", "reversible", "plaintext", "none"]


class UnsupportedPlatformError(ValueError):
    """The platform name is not one this module can parse."""


@dataclass(frozen=True)
class ConfigLine:
    """One line of the config: 1-based number and text (indentation stripped, secrets masked)."""

    number: int
    text: str

    def __str__(self) -> str:
        return f"{self.number}: {self.text}"


Evidence = tuple[ConfigLine, ...]


@dataclass(frozen=True)
class Fact(Generic[T]):
    """A value read from the config and the lines it was read from (empty when defaulted)."""

    value: T
    evidence: Evidence = ()


@dataclass(frozen=True)
class SnmpCommunity:
    """An SNMP v1/v2c community."""

    name: str
    access: Literal["RO", "RW"]
    acl: str | None
    evidence: Evidence


@dataclass(frozen=True)
class SnmpV3Principal:
    """An SNMPv3 group (Cisco) or user (FortiOS) with its security level."""

    kind: Literal["group", "user"]
    name: str
    security_level: SecurityLevel
    evidence: Evidence


@dataclass(frozen=True)
class TerminalLine:
    """A Cisco `line con|aux|vty` block."""

    name: str  # "vty 0 4"
    kind: str  # "con", "aux", "vty", "tty"
    access_class: str | None  # inbound access-class
    transport_input: tuple[str, ...] | None  # None when not set (platform default)
    exec_timeout_minutes: float | None  # None when not set (IOS default 10)
    exec_disabled: bool  # `no exec`
    login_authentication: str | None
    evidence: Evidence
    ipv6_access_class: str | None = None  # inbound `ipv6 access-class`


@dataclass(frozen=True)
class AdminAccount:
    """A local administrator: Cisco `username`, FortiOS `config system admin` entry."""

    name: str
    secret: SecretKind
    profile: str | None  # privilege level or FortiOS accprofile
    trusted_hosts: tuple[str, ...]  # FortiOS trusthostN values other than 0.0.0.0/0
    evidence: Evidence


@dataclass(frozen=True)
class MgmtAccess:
    """One way to reach the management plane, and whether a source-address filter guards it."""

    name: str
    restricted: bool
    detail: str
    evidence: Evidence


@dataclass(frozen=True)
class SessionTimeout:
    """Idle timeout of an interactive session; 0 minutes means never, NaN a value that is not a
    valid number of minutes (it never counts as a compliant timeout)."""

    name: str
    minutes: float
    explicit: bool
    evidence: Evidence


@dataclass(frozen=True)
class FirewallRule:
    """A FortiOS policy or an entry of a Cisco ACL applied inbound on an interface."""

    name: str
    action: Literal["accept", "deny"]
    src_any: bool
    dst_any: bool
    service_any: bool
    enabled: bool
    evidence: Evidence

    @property
    def allows_everything(self) -> bool:
        """An enabled any/any/any accept: it voids the default deny."""
        return self.enabled and self.action == "accept" and self.src_any and self.dst_any and self.service_any


@dataclass(frozen=True)
class Unreadable:
    """A statement of a kind some check reads that the parser could not understand (or skipped).

    `kind` is a short stable name ("snmp_community", "session_timeout", ...): the checks that read
    that kind must not pass on what was left (see compliance.checks.network)."""

    line: ConfigLine  # masked, as evidence is; number 0: a statement the file does not have
    kind: str
    reason: str

    @classmethod
    def absent(cls, kind: str, reason: str) -> Unreadable:
        """The statements deciding `kind` are not in the file and the platform's default is not a
        verdict (undocumented, release-dependent, or the file is not a whole configuration):
        the rules reading `kind` are not evaluated, with `reason`, instead of assuming a default."""
        return cls(ConfigLine(0, ""), kind, reason)

    def __str__(self) -> str:
        if self.line.number == 0:
            return f"not in the configuration: {self.reason}"
        return f"line {self.line.number} could not be read: {self.reason}"


@dataclass(frozen=True)
class NetworkConfigFacts:
    """Everything the network_config checks need, read from one running-config."""

    platform: str
    hostname: Fact[str | None]
    os_version: Fact[str | None]
    telnet_enabled: Fact[bool]
    ssh_versions: Fact[tuple[int, ...]]
    snmp_communities: tuple[SnmpCommunity, ...]
    snmp_v3: tuple[SnmpV3Principal, ...]
    ntp_servers: Fact[tuple[str, ...]]
    syslog_hosts: Fact[tuple[str, ...]]
    aaa_new_model: Fact[bool | None]
    aaa_login: Fact[bool]
    enable_secret: Fact[bool | None]
    enable_password: Fact[bool | None]
    admins: tuple[AdminAccount, ...]
    password_encryption: Fact[bool]
    http_server: Fact[bool]
    https_server: Fact[bool]
    terminal_lines: tuple[TerminalLine, ...]
    mgmt_access: tuple[MgmtAccess, ...]
    session_timeouts: tuple[SessionTimeout, ...]
    firewall_rules: tuple[FirewallRule, ...]
    filtering: Fact[bool]  # a filtering policy is applied to forwarded traffic
    # Out of repr: a well-formed config's repr (which fingerprints parsed fleets in the check
    # benchmark) stays what it was; outcomes show these lines.
    unreadable: tuple[Unreadable, ...] = field(default=(), repr=False)
