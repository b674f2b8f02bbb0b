"""The vendor -> platform rules are data (inventory/data/platforms.yaml), validated on load, and
the collector resolves vendor aliases before asking."""

from __future__ import annotations

import pytest

from collectors.vendors import canonical_vendor
from inventory.choices import Platform
from inventory.platforms import PlatformRulesError, load_rules, platform_for


@pytest.mark.parametrize(
    ("vendor", "os_name", "platform"),
    [
        ("Cisco", "IOS", "cisco_ios"),
        ("Cisco Systems", "IOS-XE", "cisco_ios"),  # an alias of enterprises.yaml
        ("Cisco", "NX-OS", None),  # no parser reads NX-OS: no guess
        ("Cisco", None, "cisco_ios"),  # most Cisco network gear runs IOS; the parser refuses what is not
        ("Fortinet", None, "fortinet"),
        ("Huawei", "VRP", "huawei_vrp"),
        ("HUAWEI TECHNOLOGIES CO", "VRP", "huawei_vrp"),
        ("Juniper", "Junos", "juniper_junos"),
        ("Aruba", "ArubaOS-Switch", "aruba_osswitch"),
        ("HP", "ProCurve", "aruba_osswitch"),
        ("HP", None, None),  # HP also makes printers: the OS must say switch
        ("Palo Alto Networks", "PAN-OS", "paloalto_panos"),
        ("MikroTik", "RouterOS", None),
        (None, "IOS", None),
    ],
)
def test_platform_for(vendor, os_name, platform):
    assert platform_for(canonical_vendor(vendor), os_name) == platform


def test_every_shipped_platform_has_a_parser():
    from compliance.configparse import PLATFORMS

    assert {rule.platform for rule in load_rules()} - {None} <= set(PLATFORMS) == {p.value for p in Platform}


@pytest.mark.parametrize(
    "text",
    ["platforms: {}\n", "platforms:\n  - {vendor: Cisco, platform: cisco_nxos}\n", "platforms:\n  - {vendor: Cisco, os: '(', platform: cisco_ios}\n", "- [\n"],
)
def test_a_broken_rules_file_is_refused(tmp_path, text):
    path = tmp_path / "platforms.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlatformRulesError):
        load_rules(path)
