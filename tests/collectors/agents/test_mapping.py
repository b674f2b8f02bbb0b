"""Inventory content -> AgentReport: the fields that matter, from both protocols."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date

import pytest

from collectors.agents.mapping import report_from_json
from collectors.agents.messages import Inventory, read_message
from collectors.agents.records import AgentAntivirus, AgentNic, AgentReport, AgentStorage

from .conftest import COMPRESSORS, fixture_bytes


def _report(name: str, compression: str = "plain") -> AgentReport:
    message, _ = read_message(COMPRESSORS[compression](fixture_bytes(name)))
    assert isinstance(message, Inventory)
    return message.report


def test_windows_11_laptop(compression: str) -> None:
    report = _report("windows11_laptop.json", compression)
    assert report.deviceid == "PC-KT-0142-2026-11-30-08-15-02"
    assert (report.protocol, report.partial, report.agent) == ("json", False, "GLPI-Agent_v1.12")
    assert report.hostname == "PC-KT-0142"
    assert (report.serial, report.uuid) == ("5B7QKQ3", "4C4C4544-0042-3510-8051-B7C04F4B3532")
    assert (report.vendor, report.model, report.chassis) == ("Dell Inc.", "Latitude 5440", "Notebook")
    assert report.cpu_model == "13th Gen Intel(R) Core(TM) i5-1345U"
    assert (report.cores, report.threads) == (10, 12)
    assert report.ram_kb == 16107 * 1024
    # The USB stick is left out; the NVMe disk is an SSD of 512 GB (488386 MiB).
    assert report.storages == (AgentStorage("SAMSUNG MZVL2512HCJQ-00BL7", 488386 * 1024, "SSD"),)
    assert (report.os_name, report.os_version, report.os_build) == ("Windows 11 Pro", "23H2", "22631.4460")
    assert report.antivirus == (
        AgentAntivirus(
            name="Microsoft Defender Antivirus",
            company="Microsoft Corporation",
            version="4.18.24090.11",
            enabled=True,
            up_to_date=True,
            signature_version="1.421.1234.0",
            signature_date=date(2026, 11, 29),
        ),
    )
    assert (report.encryption, report.encryption_detail) == ("on", "C: BitLocker XTS-AES 128")
    assert report.firewall == "on"
    assert report.secure_boot is None  # not in this agent's output
    assert report.nics == (
        AgentNic("Intel(R) Ethernet Connection (16) I219-LM", "a4:bb:6d:12:34:56", ("10.20.1.42",), False),
        AgentNic("Hyper-V Virtual Ethernet Adapter", "00:15:5d:01:02:03", ("172.25.64.1",), True),
    )
    assert report.macs == ("a4:bb:6d:12:34:56",)


def test_windows_10_desktop() -> None:
    report = _report("windows10_desktop.json")
    assert report.serial is None  # "To Be Filled By O.E.M."
    assert report.vendor == "ASRock"  # the board's maker when the system's is a placeholder
    assert (report.cores, report.threads, report.ram_kb) == (4, 8, 8072 * 1024)
    assert report.storages == (AgentStorage("ST1000DM010-2EP102", 953869 * 1024, "HDD"),)  # no DVD drive
    assert (report.os_name, report.os_version, report.os_build) == ("Windows 10 Pro", "22H2", "19045.5131")
    (antivirus,) = report.antivirus or ()
    assert (antivirus.enabled, antivirus.up_to_date) == (True, False)
    assert antivirus.signature_date == date(2025, 9, 14)
    assert antivirus.license_expiration == date(2026, 12, 31)
    assert (report.encryption, report.encryption_detail) == ("off", None)
    assert report.firewall == "off"  # one profile off is enough
    (nic,) = report.nics or ()
    assert (nic.mac, nic.addresses) == ("d8:bb:c1:aa:bb:cc", ("10.20.7.15",))


def test_partial_inventory_leaves_what_it_did_not_send_unknown() -> None:
    report = _report("partial_antivirus.json")
    assert report.partial is True
    (antivirus,) = report.antivirus or ()
    assert (antivirus.enabled, antivirus.up_to_date) == (True, False)
    assert antivirus.signature_date == date(2026, 10, 2)
    untouched = {f.name for f in fields(AgentReport)} - {"deviceid", "protocol", "partial", "agent", "antivirus"}
    assert {name: getattr(report, name) for name in untouched} == dict.fromkeys(untouched)


def test_full_inventory_without_antivirus_section_means_none_found() -> None:
    data = json.loads(fixture_bytes("windows10_desktop.json"))
    del data["content"]["antivirus"], data["content"]["storages"]
    full = report_from_json(data, partial=False)
    assert (full.antivirus, full.storages) == ((), None)
    assert report_from_json(data, partial=True).antivirus is None


def test_fusioninventory_linux_xml(compression: str) -> None:
    report = _report("fusion_linux_inventory.xml", compression)
    assert report.deviceid == "tk-linux-03-2026-12-02-04-27-55"
    assert (report.protocol, report.partial, report.agent) == ("xml", False, "FusionInventory-Agent_v2.6")
    assert (report.hostname, report.serial, report.vendor) == ("tk-linux-03", "PC2ABCDE", "LENOVO")
    assert (report.model, report.chassis) == ("ThinkCentre M70q Gen 3", "Mini PC")
    assert (report.cores, report.threads, report.ram_kb) == (6, 12, 15690 * 1024)
    assert report.storages == (AgentStorage("WDC PC SN740 SDDPNQD-256G", 244198 * 1024, None),)
    assert (report.os_name, report.os_version, report.os_build) == ("Debian GNU/Linux", "12.11", "6.1.0-28-amd64")
    assert report.antivirus == ()  # FusionInventory 2.6 on Linux: no anti-virus section
    assert (report.encryption, report.encryption_detail) == ("on", "/ LUKS2 aes-xts-plain64")
    assert report.firewall is None
    assert report.nics == (
        AgentNic("lo", None, (), True),
        AgentNic("enp1s0", "6c:4b:90:aa:bb:01", ("10.30.2.51", "10.30.2.52"), False),
    )


def test_linux_root_not_encrypted() -> None:
    xml = fixture_bytes("fusion_linux_inventory.xml").replace(b"<ENCRYPT_STATUS>Yes", b"<ENCRYPT_STATUS>No")
    message, _ = read_message(xml)
    assert isinstance(message, Inventory)
    assert message.report.encryption == "off"


def test_dropped_sections_go_nowhere() -> None:
    for name in ("windows11_laptop.json", "fusion_linux_inventory.xml"):
        text = repr(_report(name))
        assert "do-not-keep-me" not in text and "hunter2" not in text and "7-Zip" not in text


def _content(**sections: object) -> dict[str, object]:
    return {"deviceid": "pc-1", "content": {"versionclient": "GLPI-Agent_v1.12", **sections}}


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [(["Yes", "Yes"], "on"), (["Yes", "No"], "partial"), (["Partially"], "partial"), (["No", "No"], "off")],
)
def test_several_system_drives(statuses: list[str], expected: str) -> None:
    drives = [{"letter": f"{letter}:", "systemdrive": True, "encrypt_status": status} for letter, status in zip("CD", statuses, strict=False)]
    assert report_from_json(_content(drives=drives), partial=True).encryption == expected


def test_without_systemdrive_flag_c_is_the_system_drive() -> None:
    drives = [{"volumn": "C:", "encrypt_status": "Yes", "encrypt_name": "BitLocker"}, {"volumn": "D:", "encrypt_status": "No"}]
    report = report_from_json(_content(drives=drives), partial=True)
    assert (report.encryption, report.encryption_detail) == ("on", "C: BitLocker")


def test_drives_without_encryption_status_say_nothing() -> None:
    drives = [{"letter": "C:", "systemdrive": True, "filesystem": "NTFS"}]
    assert report_from_json(_content(drives=drives), partial=True).encryption is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("enabled", "enabled"), ("Disabled", "disabled"), ("unsupported", "unsupported"), ("maybe", None)],
)
def test_secure_boot(value: str, expected: str | None) -> None:
    assert report_from_json(_content(bios={"secure_boot": value}), partial=True).secure_boot == expected


@pytest.mark.parametrize("serial", ["", "   ", "To Be Filled By O.E.M.", "Default string", "System Serial Number", "0", "0000000"])
def test_placeholder_serials_are_no_serial(serial: str) -> None:
    assert report_from_json(_content(bios={"ssn": serial}), partial=True).serial is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-30", date(2026, 11, 30)),
        ("2026-11-30T07:12:01Z", date(2026, 11, 30)),
        ("20261130", date(2026, 11, 30)),
        ("2026/11/30", date(2026, 11, 30)),
        ("30.11.2026", date(2026, 11, 30)),
        ("11/30/2026", date(2026, 11, 30)),
        ("03/04/2026", None),  # March or April: unknowable
        ("2026-02-30", None),
        ("yesterday", None),
        (20261130, date(2026, 11, 30)),  # a number in the compact form is still that date
        ({"date": "2026-11-30"}, None),
    ],
)
def test_signature_dates_never_raise(value: object, expected: date | None) -> None:
    av = {"name": "AV", "base_creation": value}
    (antivirus,) = report_from_json(_content(antivirus=[av]), partial=True).antivirus or ()
    assert antivirus.signature_date == expected


def test_text_is_cleaned_and_capped() -> None:
    hardware = {"name": "  pc\x1b[31m-1\x07\n" + "x" * 300, "memory": "2048"}
    report = report_from_json(_content(hardware=hardware), partial=True)
    assert report.hostname is not None and len(report.hostname) == 255
    assert "\x1b" not in report.hostname and "\x07" not in report.hostname and "\n" not in report.hostname
    assert report.ram_kb == 2048 * 1024


def test_wrong_types_are_ignored_not_fatal() -> None:
    report = report_from_json(
        _content(
            hardware={"memory": float("inf"), "name": ["x"]},
            cpus=[{"core": "many", "thread": True}, "not an object"],
            storages="nope",
            networks=[{"description": "eth0", "mac": "zz:zz", "ipaddress": ["10.0.0.1/24", "not an ip", 7]}],
            antivirus=[{"company": "nameless"}],
        ),
        partial=True,
    )
    assert (report.ram_kb, report.hostname, report.storages) == (None, None, None)
    assert (report.cores, report.threads) == (1, None)  # one CPU object, no usable counts
    assert report.nics == (AgentNic("eth0", None, ("10.0.0.1",), False),)
    assert report.antivirus == ()


def test_ram_falls_back_to_the_memory_modules() -> None:
    content = _content(hardware={"name": "pc"}, memories=[{"capacity": 4096}, {"capacity": "4096"}])
    assert report_from_json(content, partial=True).ram_kb == 8192 * 1024


@pytest.mark.parametrize(
    ("disk_type", "kind"),
    [("SSD", "SSD"), ("Solid State", "SSD"), ("HDD", "HDD"), ("Hard disk", "HDD"), ("Fixed hard disk media", None), ("disk", None)],
)
def test_disk_kind(disk_type: str, kind: str | None) -> None:
    storages = [{"model": "d", "type": disk_type, "disksize": 1000}]
    (disk,) = report_from_json(_content(storages=storages), partial=True).storages or ()
    assert disk.kind == kind
