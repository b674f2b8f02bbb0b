"""Parse a running-config into platform-neutral, typed facts with the config lines behind each one.

Six platforms (netmiko device_type names), one module each:
- "cisco_ios": IOS 12.x/15.x and IOS-XE indentation syntax (top-level commands, indented children).
- "fortinet": FortiOS `config ... / edit ... / set ... / next / end` blocks, VDOM-wrapped or not.
- "huawei_vrp": VRP `display current-configuration` (S-series switches, USG firewalls).
- "juniper_junos": Junos `show configuration`, in braces or `| display set`.
- "aruba_osswitch": ArubaOS-Switch (2530) `show running-config`.
- "paloalto_panos": PAN-OS configuration in set form.
What each rule reads on each platform, and its default when absent: docs/config-rules.md.

Platform differences end here: the checks only read `NetworkConfigFacts`. A fact the platform has
no notion of is None (e.g. Cisco's "enable secret" on FortiOS). Evidence lines carry their 1-based
line number; secrets and non-default SNMP communities are masked in the evidence text.

    >>> facts = parse_config("hostname sw1\\nip ssh version 2\\n", "cisco_ios")
    >>> facts.ssh_versions.value, [str(e) for e in facts.ssh_versions.evidence]
    ((2,), ['2: ip ssh version 2'])
"""

from __future__ import annotations

import gc

from compliance.configparse.aruba_osswitch import parse_aruba_osswitch
from compliance.configparse.facts import (
    MASK,
    PLATFORMS,
    WELL_KNOWN_COMMUNITIES,
    AdminAccount,
    ConfigLine,
    Evidence,
    Fact,
    FirewallRule,
    MgmtAccess,
    NetworkConfigFacts,
    SessionTimeout,
    SnmpCommunity,
    SnmpV3Principal,
    TerminalLine,
    Unreadable,
    UnsupportedPlatformError,
)
from compliance.configparse.fortios import parse_fortios
from compliance.configparse.huawei_vrp import parse_huawei_vrp
from compliance.configparse.ios import parse_ios
from compliance.configparse.juniper_junos import parse_juniper_junos
from compliance.configparse.paloalto_panos import parse_paloalto_panos
from inventory.choices import Platform

__all__ = [
    "MASK", "PLATFORMS", "WELL_KNOWN_COMMUNITIES", "AdminAccount", "ConfigLine", "Evidence", "Fact",
    "FirewallRule", "MgmtAccess", "NetworkConfigFacts", "SessionTimeout", "SnmpCommunity",
    "SnmpV3Principal", "TerminalLine", "Unreadable", "UnsupportedPlatformError", "parse_config",
]  # fmt: skip


# Keyed by plain strings: looking a platform up allocates nothing, so no collector pass starts
# between two parses (an enum member's attribute access would allocate, with the collector on).
_PARSERS = {
    Platform.CISCO_IOS.value: parse_ios, Platform.FORTINET.value: parse_fortios, Platform.HUAWEI_VRP.value: parse_huawei_vrp,
    Platform.JUNIPER_JUNOS.value: parse_juniper_junos, Platform.ARUBA_OSSWITCH.value: parse_aruba_osswitch,
    Platform.PALOALTO_PANOS.value: parse_paloalto_panos,
}  # fmt: skip


def parse_config(text: str, platform: str) -> NetworkConfigFacts:
    """Parse `text` as a running-config of `platform` (a value of inventory.choices.Platform)."""
    parse = _PARSERS.get(platform)
    if parse is None:
        raise UnsupportedPlatformError(f"unsupported platform {platform!r}; expected one of {PLATFORMS}")
    if not gc.isenabled():
        return parse(text)
    # Parsing builds many small objects and no reference cycles: the cyclic collector's passes
    # meanwhile (full ones walk every object of the process as parsed fleets pile up) would find
    # nothing. Reference counting frees the parser's scratch objects either way.
    gc.disable()
    try:
        return parse(text)
    finally:
        gc.enable()
