"""What one simulated lab device is: the answer key the lab serves and the tests assert against.

The lab builder (scenario.py) turns inventory rows into `LabDevice` records; the SNMP side
(snmp_agents.py) and the SSH side (ssh_devices.py) only read these records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Behaviour = Literal["normal", "slow", "hang", "dead"]

# Rule ids shared with compliance/: the lab marks which baseline rules a device breaks.
NETWORK_CONFIG_RULES = (
    "net.telnet_off",
    "net.ssh_v2_only",
    "net.snmp_v3_only",
    "net.snmp_no_default_community",
    "net.snmp_no_rw_community",
    "net.ntp_two_servers",
    "net.remote_syslog",
    "net.aaa_login",
    "net.enable_secret",
    "net.password_encryption",
    "net.http_mgmt_off",
    "net.vty_acl",
    "net.exec_timeout",
    "net.fw_default_deny",
)


@dataclass(frozen=True)
class SnmpAccess:
    port: int
    community: str  # v2c read community
    v3_user: str
    v3_auth_key: str  # SHA
    v3_priv_key: str  # AES-128


@dataclass(frozen=True)
class SshAccess:
    port: int
    platform: Literal["cisco_ios", "fortinet", "huawei_vrp", "juniper_junos", "aruba_osswitch", "paloalto_panos"]
    username: str
    password: str
    secret: str  # enable secret (cisco); empty for the others
    running_config: str


@dataclass(frozen=True)
class LabInterface:
    index: int
    name: str
    mac: str  # "aa:bb:cc:dd:ee:ff"
    speed_mbps: int
    oper_up: bool


@dataclass(frozen=True)
class FdbEntry:
    """Bridge forwarding table: a MAC learnt on a switch port."""

    mac: str
    port_index: int


@dataclass(frozen=True)
class ArpEntry:
    ip: str
    mac: str
    if_index: int


@dataclass(frozen=True)
class LldpNeighbour:
    local_port_index: int
    remote_sysname: str
    remote_port: str
    remote_chassis_mac: str


@dataclass(frozen=True)
class HostResources:
    """HOST-RESOURCES-MIB facts of an endpoint."""

    cores: int
    ram_kb: int
    disks: tuple[tuple[str, int], ...]  # (description, size in KB)
    os_descr: str
    software: tuple[tuple[str, str], ...]  # (name, install date YYYY-MM-DD)


@dataclass(frozen=True)
class LabDevice:
    key: str  # unique in the lab, stable across runs
    site_code: str
    zone: Literal["party_wan", "internet"]
    device_class: str  # firewall, access_switch, bml, desktop, laptop, ...
    hostname: str
    address: str  # loopback address the device answers on
    vendor: str
    model: str
    serial: str
    os_name: str
    os_version: str
    sys_object_id: str
    sys_descr: str
    country_of_origin: str  # ISO 3166 alpha-2, "" when unknown
    recorded: bool  # present in the inventory database
    behaviour: Behaviour = "normal"
    snmp: SnmpAccess | None = None
    ssh: SshAccess | None = None
    interfaces: tuple[LabInterface, ...] = ()
    fdb: tuple[FdbEntry, ...] = ()
    arp: tuple[ArpEntry, ...] = ()
    lldp: tuple[LldpNeighbour, ...] = ()
    host: HostResources | None = None
    violations: tuple[str, ...] = ()  # rule ids this device breaks that kiemke can observe
    # Rules this device breaks that the collected data cannot show, each with the reason
    # (the device hangs, the switch that sees its MAC is silent, ...): never an expected finding.
    unobservable: tuple[tuple[str, str], ...] = ()
    tags: tuple[str, ...] = field(default=())  # scenario labels: unrecorded, hostile, both_zones, ...

    def to_json(self) -> dict:
        return asdict(self)
