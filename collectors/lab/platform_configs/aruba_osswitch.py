"""ArubaOS-Switch (HPE Aruba 2530, 16.x) lab configurations and show outputs.

Pure functions, no I/O. ``running_config`` is the whole ``show running-config`` output (the
``Running configuration:`` title and the ``; <product> Configuration Editor; Created on release
#<version>`` header included: the parser's completeness markers). With no violations it is the
hardened golden case tests/compliance/golden/aruba_osswitch/a2530_hardened as a template; every
rule id in ``violations`` flips exactly the matching statements:

    ================================ ====================================================
    rule                             hardened  ->  insecure
    ================================ ====================================================
    net.telnet_off                   drops ``no telnet-server`` (the factory default: on)
    net.snmp_v3_only                 adds ``snmp-server community "<private name>" operator
                                     restricted`` and drops ``snmpv3 only``
    net.snmp_no_default_community    adds ``snmp-server community "public" operator
                                     restricted`` and drops ``snmpv3 only``
    net.snmp_no_rw_community         adds ``snmp-server community "<private name>" manager
                                     unrestricted`` and drops ``snmpv3 only``
    net.ntp_two_servers              2 ``sntp server priority N`` lines -> 1, or none at all
                                     (no ``timesync sntp`` / ``sntp unicast`` either), by hash
    net.remote_syslog                drops both ``logging <address>`` lines
    net.aaa_login                    drops ``password manager`` and the ``aaa authentication``
                                     lines (the factory default: no login asks for a password)
    net.enable_secret                ``password manager|operator ... sha1 "<hash>"`` ->
                                     ``plaintext "<password>"`` (both accounts; with
                                     net.aaa_login only the operator one is left to flip)
    net.password_encryption          drops ``encrypt-credentials``: the RADIUS
                                     ``encrypted-key`` becomes ``key "<plain>"`` and the
                                     SNMPv3 user's keys show in clear
    net.http_mgmt_off                drops ``no web-management plaintext`` (on by default;
                                     ``web-management ssl`` stays, HTTPS being allowed)
    net.vty_acl                      drops ``ip authorized-managers`` (anyone may manage)
    net.exec_timeout                 ``console idle-timeout [serial-usb] 600`` -> ``1800``, or
                                     both lines dropped (the default 0 = never), by hash
    ================================ ====================================================

Not applicable (``ValueError`` if asked): net.ssh_v2_only (no 16.x statement selects the SSH
version; the parser always reports it "not evaluated") and net.fw_default_deny (an access
switch; the parser reads no forwarding policy). ``is_firewall=True`` is refused.

Overlaps (``IMPLIES``): any community is a v1/v2c community (-> net.snmp_v3_only); without a
manager password the enable-level secret is missing too (net.aaa_login -> net.enable_secret);
a ``plaintext`` password is a secret stored in clear (net.enable_secret ->
net.password_encryption). ``implied_violations`` adds these one step, from the rules asked for:
net.aaa_login alone leaves no plaintext password, so it does not break net.password_encryption.

Unconfirmed forms (see docs/config-rules.md): whether a 16.x switch prints the default
``operator restricted`` of a community (written out here so the parser can read the access),
and a ``plaintext`` password shown under ``encrypt-credentials`` (it stands for a hand-edited
config, like FortiOS's ``set passwd <plaintext>``).

Randomness: none. Variants are picked by a CRC32 of the hostname; secrets are made-up strings
derived from the hostname.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from collections.abc import Iterable

from collectors.lab.platform_configs import rules

PLATFORM = "aruba_osswitch"
DEFAULT_MODEL = "2530-24G (J9776A)"
DEFAULT_VERSION = "YA.16.11.0016"

NOT_APPLICABLE = frozenset(
    {
        "net.ssh_v2_only",  # no ArubaOS-Switch 16.x statement selects the SSH version: never failed, only "not evaluated"
        "net.fw_default_deny",  # a 2530 is an access switch: the parser reads no forwarding policy
    }
)

# rule -> rules its insecure form necessarily also breaks on ArubaOS-Switch
IMPLIES: dict[str, frozenset[str]] = {
    "net.snmp_no_default_community": frozenset({"net.snmp_v3_only"}),
    "net.snmp_no_rw_community": frozenset({"net.snmp_v3_only"}),
    "net.aaa_login": frozenset({"net.enable_secret"}),  # the manager password is the enable-level secret
    "net.enable_secret": frozenset({"net.password_encryption"}),  # `plaintext` is a secret in clear
}

# The commands netmiko's HPProcurveSSH session preparation sends at the manager prompt
# (``terminal width 511``, ``no page``), plus ``terminal length 1000`` a script may send.
SESSION_COMMANDS = ("terminal width 511", "terminal length 1000", "no page")

_PRODUCT = re.compile(r"\(([A-Za-z0-9]+)\)")
_PORTS = re.compile(r"-(\d+)")
# The 16.x configuration-editor signature line; the lab never checks it, so one value serves.
_VER_LINE = "; Ver #14:01.4f.f8.1d.9b.3f.bf.bb.ef.7c.59.fc.6b.fb.9f.fc.ff.ff.37.ef:04"
_OPERATOR = "noc"
_SNMP_USER = "nms01"


def applicable_rules(*, is_firewall: bool) -> frozenset[str]:
    """Rule ids an ArubaOS-Switch lab device can be made to violate."""
    return rules.applicable(NOT_APPLICABLE, is_firewall=is_firewall)


def implied_violations(violations: Iterable[str]) -> frozenset[str]:
    """The full set of rule ids the checker finds in a config built with ``violations``."""
    return rules.implied(violations, IMPLIES)


def _check(violations: Iterable[str], is_firewall: bool) -> frozenset[str]:
    if is_firewall:
        raise ValueError(f"{PLATFORM} lab devices are access switches: is_firewall=True is not supported")
    return rules.checked(PLATFORM, violations, applicable_rules(is_firewall=is_firewall), is_firewall=is_firewall)


def _h(hostname: str, salt: str = "") -> int:
    return rules.variant(hostname, salt)


def _made_up(hostname: str, salt: str, size: int) -> str:
    """An opaque base64 string standing for an encrypted credential (never a real one)."""
    return base64.b64encode(hashlib.sha256(f"{salt}:{hostname}".encode()).digest()[:size]).decode()


def _sha1_text(hostname: str, salt: str) -> str:
    """A 40-hex string in the place of a SHA-1 password hash (of no password)."""
    return hashlib.sha1(f"{salt}:{hostname}".encode(), usedforsecurity=False).hexdigest()


def _product(model: str) -> str:
    m = _PRODUCT.search(model)
    if m is None:
        raise ValueError(f"model {model!r} has no product number in parentheses, e.g. '2530-24G (J9776A)'")
    return m.group(1).upper()


def _port_counts(model: str) -> tuple[int, int]:
    """(access ports, uplink ports) of a 2530 model name: 2530-8G has 2 uplinks, the others 4."""
    m = _PORTS.search(model)
    access = int(m.group(1)) if m else 24
    return access, 2 if access <= 8 else 4


def _addresses(hostname: str, mgmt_subnet: str) -> dict[str, str]:
    net = ipaddress.ip_network(mgmt_subnet, strict=False)
    if net.version != 4 or net.num_addresses < 32:
        raise ValueError(f"mgmt_subnet {mgmt_subnet} must be IPv4, /27 or larger")
    at = [str(net.network_address + i) for i in range(8)]
    span = net.num_addresses - 2 - 20
    return {
        "net": str(net.network_address), "mask": str(net.netmask), "gateway": at[1], "ntp1": at[2], "ntp2": at[3],
        "syslog1": at[4], "radius": at[5], "syslog2": at[6], "me": str(net.network_address + 20 + _h(hostname, "ip") % span),
    }  # fmt: skip


def running_config(
    hostname: str,
    violations: Iterable[str] = (),
    *,
    is_firewall: bool = False,
    mgmt_subnet: str = "10.0.0.0/24",
    model: str = DEFAULT_MODEL,
    os_version: str = DEFAULT_VERSION,
    username: str = "kiemke",
) -> str:
    """The whole ``show running-config`` output of a 2530 built with ``violations``."""
    v = _check(violations, is_firewall)
    for name, value in (("hostname", hostname), ("username", username), ("os_version", os_version)):
        if not value or '"' in value or any(ch.isspace() for ch in value):
            raise ValueError(f"{name} {value!r} cannot be written in an ArubaOS-Switch config (empty, a quote or a space)")
    product = _product(model)
    access, uplinks = _port_counts(model)
    first_up, last_up = access + 1, access + uplinks
    ip = _addresses(hostname, mgmt_subnet)
    seed = _h(hostname)
    n = seed % 10000
    encrypted = "net.password_encryption" not in v
    communities: list[str] = []
    if "net.snmp_v3_only" in v:
        communities.append(f'snmp-server community "Kk{seed % 100000:05d}ro" operator restricted')
    if "net.snmp_no_default_community" in v:
        communities.append('snmp-server community "public" operator restricted')
    if "net.snmp_no_rw_community" in v:
        communities.append(f'snmp-server community "Kk{seed % 100000:05d}rw" manager unrestricted')

    L: list[str] = []  # noqa: N806 (L: the config's line list, read as a verb)
    a = L.append
    a("Running configuration:")
    a("")
    a(f"; {product} Configuration Editor; Created on release #{os_version}")
    a(_VER_LINE)
    a(f'hostname "{hostname}"')
    a(f"module 1 type {product.lower()}")
    a("time timezone 420")
    if "net.exec_timeout" not in v:
        a("console idle-timeout 600")
        a("console idle-timeout serial-usb 600")
    elif seed % 2:
        a("console idle-timeout 1800")
        a("console idle-timeout serial-usb 1800")
    a("include-credentials")
    if encrypted:
        a("encrypt-credentials")
    if "net.telnet_off" not in v:
        a("no telnet-server")
    a("web-management ssl")
    if "net.http_mgmt_off" not in v:
        a("no web-management plaintext")
    if "net.vty_acl" not in v:
        a(f"ip authorized-managers {ip['net']} {ip['mask']} access manager")
    a(f"ip default-gateway {ip['gateway']}")
    if "net.remote_syslog" not in v:
        a(f"logging {ip['syslog1']}")
        a(f"logging {ip['syslog2']}")
    if encrypted:
        a(f'radius-server host {ip["radius"]} encrypted-key "{_made_up(hostname, "radius", 24)}"')
    else:
        a(f'radius-server host {ip["radius"]} key "Rad-{n:04d}"')
    if "net.aaa_login" not in v:
        a("aaa authentication ssh login radius local")
        a("aaa authentication ssh enable radius local")
        a("aaa authentication console login local")
        a("aaa authentication console enable local")
    servers = 2 if "net.ntp_two_servers" not in v else seed % 2
    if servers:
        a("timesync sntp")
        a("sntp unicast")
        a(f"sntp server priority 1 {ip['ntp1']}")
        if servers == 2:
            a(f"sntp server priority 2 {ip['ntp2']}")
    a('snmp-server contact "Phong CNTT"')
    a('snmp-server location "Phong may chu"')
    L.extend(communities)
    a("snmpv3 enable")
    if not communities:
        a("snmpv3 only")  # v1/v2c refused; a switch carrying a community has it off
    if encrypted:
        a(f'snmpv3 user "{_SNMP_USER}" auth sha "{_made_up(hostname, "v3auth", 18)}" priv aes "{_made_up(hostname, "v3priv", 18)}"')
    else:
        a(f'snmpv3 user "{_SNMP_USER}" auth sha "Auth-{n:04d}" priv aes "Priv-{n:04d}"')
    a(f'snmpv3 group managerpriv user "{_SNMP_USER}" sec-model ver3')
    a(f"interface {first_up}")
    a('   name "UPLINK"')
    a("   exit")
    a("vlan 1")
    a('   name "DEFAULT_VLAN"')
    a(f"   no untagged 1-{last_up}")
    a("   no ip address")
    a("   exit")
    a("vlan 10")
    a('   name "USERS"')
    a(f"   untagged 1-{access}")
    a(f"   tagged {first_up}-{last_up}")
    a("   no ip address")
    a("   exit")
    a("vlan 99")
    a('   name "MGMT"')
    a(f"   tagged {first_up}-{last_up}")
    a(f"   ip address {ip['me']} {ip['mask']}")
    a("   exit")
    a("spanning-tree")
    a(f"spanning-tree {first_up}-{last_up} admin-edge-port disable")
    a("no tftp client")
    a("no tftp server")
    if "net.aaa_login" not in v:
        if "net.enable_secret" in v:
            a(f'password manager user-name "{username}" plaintext "Mgr-{n:04d}"')
        else:
            a(f'password manager user-name "{username}" sha1 "{_sha1_text(hostname, "manager")}"')
    if "net.enable_secret" in v:
        a(f'password operator user-name "{_OPERATOR}" plaintext "Noc-{n:04d}"')
    else:
        a(f'password operator user-name "{_OPERATOR}" sha1 "{_sha1_text(hostname, "operator")}"')
    return "\n".join(L) + "\n"


def _quoted(running: str, statement: str) -> str:
    m = re.search(rf'^{statement} "([^"]*)"', running, re.M)
    return m.group(1) if m else ""


def _mac(mac: str) -> str:
    """'00:1a:2b:3c:4d:5e' -> '001a2b-3c4d5e', as ArubaOS-Switch prints a MAC."""
    digits = re.sub(r"[^0-9a-fA-F]", "", mac).lower()
    if len(digits) != 12:
        raise ValueError(f"mac {mac!r} is not a MAC address")
    return f"{digits[:6]}-{digits[6:]}"


def show_system(hostname: str, serial: str, os_version: str, running: str, *, mac: str) -> str:
    """``show system`` of a 2530 (16.x); parses with ntc-templates ``hp_procurve_show_system``.

    Contact and location are the config's ``snmp-server contact|location``, as on the switch (an
    empty one is printed empty, which the installed template refuses: the lab config sets both).
    """
    seed = _h(hostname, "system")
    contact, location = _quoted(running, "snmp-server contact"), _quoted(running, "snmp-server location")
    total, free = 167_546_880, 167_546_880 - 60_000_000 - seed % 20_000_000
    rx, tx = 1_000_000 + seed % 9_000_000, 200_000 + seed % 900_000
    lines = [
        "",
        " Status and Counters - General System Information",
        "",
        f"  System Name        : {hostname}",
        f"  System Contact     : {contact}",
        f"  System Location    : {location}",
        "",
        "  MAC Age Time (sec) : 300",
        "",
        "  Time Zone          : 420",
        "  Daylight Time Rule : None",
        "",
        f"  Software revision  : {os_version:<20} Base MAC Addr      : {_mac(mac)}",
        f"  ROM Version        : {'YA.15.20':<20} Serial Number      : {serial}",
        "",
        f"  Up Time            : {f'{1 + seed % 400} days':<20} Memory   - Total   : {total:,}",
        f"  CPU Util (%)       : {seed % 7:<20}           Free    : {free:,}",
        "",
        f"  IP Mgmt  - Pkts Rx : {f'{rx:,}':<20} Packet   - Total   : 6750",
        f"             Pkts Tx : {f'{tx:,}':<20} Buffers    Free    : {4800 + seed % 90}",
        f"{'Lowest  : ':>65}{4600 + seed % 90}",
        f"{'Missed  : ':>65}0",
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"  # an empty contact leaves no trailing blank


def command_outputs(hostname: str, model: str, serial: str, os_version: str, running_config: str, *, mac: str = "00:1a:2b:3c:4d:5e") -> dict[str, str]:
    """{command line as sent: output} for every command netmiko and the collector send."""
    _product(model)  # a model without its product number is refused here too
    outputs = dict.fromkeys(SESSION_COMMANDS, "")
    outputs["show system"] = show_system(hostname, serial, os_version, running_config, mac=mac)
    outputs["show running-config"] = running_config
    return outputs
