"""Building blocks of the simulated devices the SNMP tests serve: the agents' tests (this
folder), the collector's tests and its golden walks (tests/collectors).

Each test module picks its own loopback network, ports and secrets (`lab_device`), and shares
the device kinds below: a Cisco access switch, a FortiGate, a Dell desktop with host
resources, hostile values, and the devices that answer slowly, hang or are dead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collectors.lab import spec


def mac(*tail: int) -> str:
    """A MAC in the 00:1a (Cisco) range ending in `tail`."""
    return ":".join(f"{b:02x}" for b in (0x00, 0x1A, *tail))


CATALYST_9200 = {
    "vendor": "Cisco",
    "model": "C9200L-24T-4G",
    "os_name": "IOS-XE",
    "os_version": "17.9.4",
    "sys_object_id": "1.3.6.1.4.1.9.1.2694",
    "sys_descr": "Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_LITE_IOSXE), Version 17.9.4",
    "country_of_origin": "US",
}
FORTIGATE_100F = {
    "sys_object_id": "1.3.6.1.4.1.12356.101.1.1004",
    "sys_descr": "FortiGate-100F v7.2.8,build1639,240313 (GA.M)",
    "vendor": "Fortinet",
    "os_name": "FortiOS",
    "os_version": "7.2.8",
}


def lab_device(n: int, network: str, snmp: spec.SnmpAccess, **overrides: Any) -> spec.LabDevice:
    """Device `n` at `network`.n: a recorded Catalyst access switch of site HN01 unless overridden."""
    fields: dict[str, Any] = {
        "key": f"t{n}",
        "site_code": "HN01",
        "zone": "party_wan",
        "device_class": "access_switch",
        "hostname": f"hn01-sw{n}",
        "address": f"{network}.{n}",
        "serial": f"JAE2{n:07d}",
        "recorded": True,
        "snmp": snmp,
        **CATALYST_9200,
    }
    fields.update(overrides)
    return spec.LabDevice(**fields)


# ------------------------------------------------------------------------------ switch
SWITCH_INTERFACES = tuple(spec.LabInterface(i, f"GigabitEthernet1/0/{i}", mac(0xC0, 0x01, 0x00, i), 1000, i % 4 != 0) for i in range(1, 25)) + (
    spec.LabInterface(30, "Vlan10", mac(0xC0, 0x01, 0x00, 0x30), 1000, True),
)
SWITCH_FDB = (
    spec.FdbEntry("3c:52:82:aa:00:01", 3),
    spec.FdbEntry("3c:52:82:aa:00:02", 7),
    spec.FdbEntry("00:09:0f:fe:00:01", 24),
)
SWITCH_ARP = (spec.ArpEntry("10.10.0.21", "3c:52:82:aa:00:01", 30), spec.ArpEntry("10.10.0.22", "3c:52:82:aa:00:02", 30))
UPLINK_TO_FIREWALL = spec.LldpNeighbour(24, "hn01-fw01", "port1", "00:09:0f:fe:00:01")

# ------------------------------------------------------------------------------ desktop
DELL_DESKTOP = {
    "device_class": "desktop",
    "hostname": "HN01-PC0042",
    "vendor": "Dell Inc.",
    "model": "OptiPlex 7010",
    "serial": "7X1B2C3",
    "os_name": "Windows",
    "os_version": "10.0.19045",
    "sys_object_id": "1.3.6.1.4.1.311.1.1.3.1.1",
    "sys_descr": "Hardware: Intel64 Family 6 Model 154 - Software: Windows Version 6.3 (Build 19045 Multiprocessor Free)",
    "interfaces": (spec.LabInterface(11, "Intel(R) Ethernet Connection (17) I219-LM", "3c:52:82:aa:00:01", 1000, True),),
}


def desktop_host(data_disk_bytes: int, *more_software: tuple[str, str]) -> spec.HostResources:
    """The Dell desktop's host resources: 4 cores, 16 GB, disks C: and D:, three programs and more."""
    return spec.HostResources(
        cores=4,
        ram_kb=16 * 1024 * 1024,
        disks=(("C:\\ Label:Windows  Serial Number 5a3c1e77", 500_000_000), ("D:\\ Label:Data", data_disk_bytes)),
        os_descr="Windows 10 Pro 22H2",
        software=(
            ("Microsoft Office Professional Plus 2019", "2023-04-11"),
            ("Kaspersky Endpoint Security for Windows", "2024-01-30"),
            ("Bộ gõ Unikey 4.3", "2022-09-01"),
            *more_software,
        ),
    )


# ------------------------------------------------------------------------------ hostile values
HTML = '<script>alert("kiemke")</script><img src=x onerror=alert(1)> & | "IOS" \'x\''
NON_UTF8 = b"sw-\xff\xfe\xc3(\x00\x7f-evil"
PADDED = b" padded serial\t"
BIG = ("0123456789abcdef" * 4063)[:65000]  # largest value that still fits one v3 response


# ------------------------------------------------------------------------------ misbehaving
def slow_hang_dead(device: Callable[..., spec.LabDevice]) -> tuple[spec.LabDevice, spec.LabDevice, spec.LabDevice]:
    """Devices 5, 6 and 7 made by `device(n, **overrides)`: one answers slowly, one never, one is not there."""
    slow = device(5, behaviour="slow", interfaces=(spec.LabInterface(1, "Gi0/1", mac(0xC0, 0x05, 0, 1), 1000, True),))
    return slow, device(6, behaviour="hang"), device(7, behaviour="dead")
