"""What collectors take and return: frozen, typed records, and kiemke's own error types.

Collectors never touch the database. They get a `Target` and a credential, and return
`DeviceFacts` or raise a `CollectorError`; library exceptions (pysnmp errorIndication, netmiko
timeouts and authentication failures, nmap errors) are translated at the collector boundary.
Error messages never contain a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import SecretStr

Source = Literal["snmp", "ssh", "nmap"]


@dataclass(frozen=True)
class Target:
    """One device to collect from. `device_id` is None for an address found by discovery."""

    address: str
    device_id: int | None = None
    site_code: str | None = None
    zone: str | None = None
    device_class: str | None = None
    platform: str | None = None  # netmiko device_type for SSH: cisco_ios, fortinet
    hostname: str | None = None


@dataclass(frozen=True)
class SnmpCredential:
    name: str
    version: Literal["v2c", "v3"]
    community: SecretStr | None = None  # v2c
    user: str | None = None  # v3 (authPriv only)
    auth_key: SecretStr | None = None
    priv_key: SecretStr | None = None
    auth_protocol: Literal["SHA", "SHA256"] = "SHA"
    priv_protocol: Literal["AES", "AES256"] = "AES"
    port: int = 161


@dataclass(frozen=True)
class SshCredential:
    name: str
    username: str
    password: SecretStr
    secret: SecretStr | None = None  # enable secret
    port: int = 22


@dataclass(frozen=True)
class InterfaceRecord:
    index: int
    name: str
    description: str = ""
    alias: str = ""
    mac: str | None = None
    speed_mbps: int | None = None
    admin_up: bool | None = None
    oper_up: bool | None = None


@dataclass(frozen=True)
class FdbRecord:
    """A MAC address learnt on a switch port (BRIDGE-MIB), resolved to the port's ifIndex."""

    mac: str
    if_index: int | None
    port_name: str = ""


@dataclass(frozen=True)
class ArpRecord:
    ip: str
    mac: str
    if_index: int | None = None


@dataclass(frozen=True)
class LldpRecord:
    local_if_index: int | None
    remote_sysname: str
    remote_port: str
    remote_chassis: str


@dataclass(frozen=True)
class SoftwareRecord:
    name: str
    installed: date | None = None


@dataclass(frozen=True)
class HostRecord:
    """HOST-RESOURCES-MIB facts of an endpoint."""

    cores: int
    ram_kb: int
    disks: tuple[tuple[str, int], ...] = ()  # (description, size in KB), fixed disks only
    software: tuple[SoftwareRecord, ...] = ()


@dataclass(frozen=True)
class DeviceFacts:
    """Everything one collector learnt about one device in one visit."""

    address: str
    source: Source
    sys_name: str | None = None
    sys_descr: str | None = None
    sys_object_id: str | None = None
    sys_location: str | None = None
    uptime_seconds: int | None = None
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    interfaces: tuple[InterfaceRecord, ...] = ()
    fdb: tuple[FdbRecord, ...] = ()
    arp: tuple[ArpRecord, ...] = ()
    lldp: tuple[LldpRecord, ...] = ()
    host: HostRecord | None = None
    running_config: str | None = None
    open_ports: tuple[int, ...] = ()  # nmap: open TCP (and UDP 161 as -161) ports
    services: tuple[tuple[int, str], ...] = ()  # nmap: (port, service name)
    mac: str | None = None  # nmap: the host's MAC when on the same segment
    warnings: tuple[str, ...] = field(default=())  # parts that failed without failing the visit

    @property
    def macs(self) -> tuple[str, ...]:
        """The device's own MAC addresses (interfaces, or the one nmap saw)."""
        own = [i.mac for i in self.interfaces if i.mac]
        if self.mac:
            own.append(self.mac)
        return tuple(dict.fromkeys(own))


ErrorKind = Literal["timeout", "auth", "unreachable", "protocol", "refused", "config"]


class CollectorError(Exception):
    """A device could not be collected. `kind` sorts the reason; the message is for people."""

    kind: ErrorKind = "protocol"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CollectionTimeout(CollectorError):
    kind = "timeout"


class AuthenticationFailed(CollectorError):
    kind = "auth"


class Unreachable(CollectorError):
    kind = "unreachable"


class ProtocolError(CollectorError):
    kind = "protocol"


class TargetRefused(CollectorError):
    """The address is outside the scanning allow-list: kiemke will not send it traffic."""

    kind = "refused"
