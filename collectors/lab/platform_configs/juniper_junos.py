"""Running-configurations and show outputs of the simulated Juniper EX access switches (Junos).

Pure functions, no I/O, no clock, no randomness. With no violations the configuration is the
hardened EX2300 case of tests/compliance/golden/juniper_junos (ex_hardened_hierarchical) made
into a template; every rule id in ``violations`` flips exactly the matching statements:

    ================================ ====================================================
    rule                             hardened  ->  insecure
    ================================ ====================================================
    net.telnet_off                   adds ``telnet;`` under ``system services``
    net.ssh_v2_only                  ``protocol-version v2;`` -> ``protocol-version [ v1 v2 ];``
    net.snmp_v3_only                 adds ``snmp community <private name>`` (read-only,
                                     ``clients`` the management subnet)
    net.snmp_no_default_community    adds ``snmp community public`` (read-only)
    net.snmp_no_rw_community         adds ``snmp community <private name>`` with
                                     ``authorization read-write``
    net.ntp_two_servers              2 ``system ntp server`` -> 1, or no ``ntp`` block (hash)
    net.remote_syslog                drops the ``system syslog host <addr>`` block
    net.aaa_login                    the login user loses its ``authentication`` block
                                     (no password, no key)
    net.password_encryption          root's ``encrypted-password "$6$..."`` ->
                                     ``encrypted-password "Root-<n>"`` (a plaintext value: a
                                     real device never prints it; it stands for a hand-edited
                                     file, as the FortiOS lab does)
    net.http_mgmt_off                adds ``web-management { http { interface irb.99; } }``
    net.vty_acl                      drops ``filter { input PROTECT-RE; }`` from lo0 unit 0
    net.exec_timeout                 class ``idle-timeout 10;`` -> ``30`` or none (hash)
    ================================ ====================================================

Not applicable (``ValueError`` if asked): net.enable_secret (no enable mode) and
net.fw_default_deny (the parser reads no SRX policies: the lab's Junos devices are EX access
switches, so ``running_config`` refuses ``is_firewall=True``).

The lo0 filter PROTECT-RE ends in a discard term, so Telnet and J-Web added by their own
violations stay source-restricted: net.telnet_off and net.http_mgmt_off imply no net.vty_acl.

``command_outputs`` also renders ``show configuration | display set`` from the hierarchical
text (``display_set``), so both forms the collector reads carry the same configuration.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from collectors.lab.platform_configs import rules
from collectors.lab.spec import NETWORK_CONFIG_RULES

PLATFORM = "juniper_junos"

NOT_APPLICABLE = frozenset(
    {
        "net.enable_secret",  # no enable mode: rights come from the login class
        "net.fw_default_deny",  # the parser reads no SRX policies or transit filters (always not evaluated)
    }
)

# A public or read-write community is also a v1/v2c community.
IMPLIES: dict[str, frozenset[str]] = {
    "net.snmp_no_default_community": frozenset({"net.snmp_v3_only"}),
    "net.snmp_no_rw_community": frozenset({"net.snmp_v3_only"}),
}

_CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_MARK_OF_SECRETS = "## SECRET-DATA"  # what Junos prints after every statement holding a secret


def applicable_rules(*, is_firewall: bool) -> frozenset[str]:
    """Rule ids a lab Junos device can be made to violate: the same either way, as
    net.fw_default_deny is never read (``running_config`` refuses is_firewall itself)."""
    del is_firewall
    return frozenset(NETWORK_CONFIG_RULES) - NOT_APPLICABLE


def implied_violations(violations: Iterable[str]) -> frozenset[str]:
    """The full set of rule ids the checker finds in a config built with ``violations``."""
    return rules.implied(violations, IMPLIES)


def _check(violations: Iterable[str], is_firewall: bool) -> frozenset[str]:
    if is_firewall:
        raise ValueError(f"{PLATFORM} lab devices are EX access switches: is_firewall=True is not supported")
    return rules.checked(PLATFORM, violations, applicable_rules(is_firewall=is_firewall), is_firewall=is_firewall)


def _h(hostname: str, salt: str = "") -> int:
    return rules.variant(hostname, salt)


def _made_up(seed: str, length: int, alphabet: str = _CRYPT_ALPHABET) -> str:
    """Characters of `alphabet` derived from `seed`: looks like ciphertext, hides nothing."""
    return rules.opaque(seed, length, alphabet)


def sha512_crypt(hostname: str, what: str) -> str:
    """A string in `$6$` (SHA-512 crypt) form. Not a real hash: the lab never verifies it."""
    return f"$6${_made_up(f'salt:{what}:{hostname}', 8)}${_made_up(f'hash:{what}:{hostname}', 86)}"


def junos_9(hostname: str, what: str) -> str:
    """A string in Junos `$9$` form (its reversible cipher), made up from the hostname."""
    return "$9$" + _made_up(f"nine:{what}:{hostname}", 47, _CRYPT_ALPHABET[2:] + "-./")


def root_plaintext_password(hostname: str) -> str:
    """The made-up clear root password of the net.password_encryption form."""
    return f"Root-{_h(hostname, 'root') % 10000:04d}"


# ------------------------------------------------------------------------- the configuration tree


@dataclass(frozen=True)
class _Secret:
    """A statement Junos marks with `## SECRET-DATA`."""

    text: str


@dataclass(frozen=True)
class _Block:
    head: str
    body: tuple[_Node, ...]


_Node = str | _Secret | _Block


def _b(head: str, *body: _Node | None) -> _Block:
    """A block; None children are left out (statements a violation removes)."""
    return _Block(head, tuple(node for node in body if node is not None))


def _render(nodes: Iterable[_Node], depth: int = 0) -> list[str]:
    """Junos `show configuration` layout: 4-space indents, `;` leaves, empty blocks not shown."""
    pad = "    " * depth
    lines: list[str] = []
    for node in nodes:
        if isinstance(node, _Block):
            inner = _render(node.body, depth + 1)
            if inner:
                lines += [f"{pad}{node.head} {{", *inner, f"{pad}}}"]
        elif isinstance(node, _Secret):
            lines.append(f"{pad}{node.text}; {_MARK_OF_SECRETS}")
        else:
            lines.append(f"{pad}{node};")
    return lines


def _access_ports(model: str) -> int:
    """Copper ports of an EX model from its name (EX2300-24T -> 24, EX2300-C-12P -> 12)."""
    found = re.search(r"-(\d+)[A-Z]*$", model.upper())
    count = int(found.group(1)) if found else 24
    return count if count in (8, 12, 24, 48) else 24


def _last_commit(hostname: str, username: str) -> str:
    """`## Last commit: ...` with a date derived from the hostname (never the clock)."""
    seed = _h(hostname, "commit")
    when = datetime.datetime(2026, 1, 5, 8, 0, 0) + datetime.timedelta(days=seed % 300, seconds=seed % 36000)
    return f"## Last commit: {when:%Y-%m-%d %H:%M:%S} ICT by {username}"


def running_config(
    hostname: str,
    violations: Iterable[str] = (),
    *,
    is_firewall: bool = False,
    mgmt_subnet: str = "10.0.0.0/24",
    model: str = "EX2300-24T",
    os_version: str = "21.4R3",
    username: str = "kiemke",
) -> str:
    """A Junos `show configuration` of an EX access switch (hierarchical form)."""
    v = _check(violations, is_firewall)
    net = ipaddress.ip_network(mgmt_subnet, strict=False)
    if net.num_addresses < 16:
        raise ValueError(f"mgmt_subnet {mgmt_subnet} too small (need /28 or larger)")
    gateway, ntp1, ntp2, syslog = (str(net.network_address + i) for i in (1, 2, 3, 4))
    seed = _h(hostname)
    my_ip = net.network_address + 20 + _h(hostname, "ip") % max(net.num_addresses - 22, 1)
    ports = _access_ports(model)

    ntp_servers = [ntp1, ntp2] if "net.ntp_two_servers" not in v else [ntp1] if seed % 2 else []
    if "net.exec_timeout" not in v:
        idle: str | None = "idle-timeout 10"
    else:
        idle = "idle-timeout 30" if seed % 2 else None  # none: the class never times out
    root_password = f'"{root_plaintext_password(hostname)}"' if "net.password_encryption" in v else f'"{sha512_crypt(hostname, "root")}"'
    communities: list[_Block] = []
    if "net.snmp_v3_only" in v:
        communities.append(_b(f"community Kk{seed % 100000:05d}ro", "authorization read-only", _b("clients", str(net))))
    if "net.snmp_no_default_community" in v:
        communities.append(_b("community public", "authorization read-only"))
    if "net.snmp_no_rw_community" in v:
        communities.append(_b(f"community Kk{seed % 100000:05d}rw", "authorization read-write", _b("clients", str(net))))
    from_mgmt = _b("source-prefix-list", "MGMT-HOSTS")

    tree = (
        f"version {os_version}",
        _b(
            "system",
            f"host-name {hostname}",
            "time-zone Asia/Ho_Chi_Minh",
            _b("root-authentication", _Secret(f"encrypted-password {root_password}")),
            _b(
                "login",
                'message "Authorised access only. Truy cap trai phep se bi xu ly theo quy dinh."',
                _b("class NETADMIN", idle, "permissions all"),
                _b(
                    f"user {username}",
                    "uid 2001",
                    "class NETADMIN",
                    None if "net.aaa_login" in v else _b("authentication", _Secret(f'encrypted-password "{sha512_crypt(hostname, "user:" + username)}"')),
                ),
            ),
            _b(
                "services",
                _b("ssh", "root-login deny", "protocol-version [ v1 v2 ]" if "net.ssh_v2_only" in v else "protocol-version v2", "connection-limit 5", "rate-limit 5"),
                "telnet" if "net.telnet_off" in v else None,
                _b("web-management", _b("http", "interface irb.99")) if "net.http_mgmt_off" in v else None,
            ),
            _b(
                "syslog",
                _b("user *", "any emergency"),
                None if "net.remote_syslog" in v else _b(f"host {syslog}", "any notice", "authorization info"),
                _b("file messages", "any notice", "authorization info"),
                _b("file interactive-commands", "interactive-commands any"),
            ),
            _b("ntp", *(f"server {server}" for server in ntp_servers)),
        ),
        _b(
            "interfaces",
            _b(
                "interface-range ACCESS-PORTS",
                f"member-range ge-0/0/0 to ge-0/0/{ports - 1}",
                _b("unit 0", _b("family ethernet-switching", "interface-mode access", _b("vlan", "members USERS"))),
            ),
            _b("ge-0/1/0", "description UPLINK", _b("unit 0", _b("family ethernet-switching", "interface-mode trunk", _b("vlan", "members [ USERS MGMT ]")))),
            _b("irb", _b("unit 99", _b("family inet", f"address {my_ip}/{net.prefixlen}"))),
            _b(
                "lo0",
                _b(
                    "unit 0",
                    _b(
                        "family inet",
                        None if "net.vty_acl" in v else _b("filter", "input PROTECT-RE"),
                        f"address 10.255.{seed >> 8 & 255}.{seed % 254 + 1}/32",
                    ),
                ),
            ),
        ),
        _b(
            "snmp",
            f"location {hostname}",
            'contact "Phong CDS-CY"',
            _b(
                "v3",
                _b(
                    "usm",
                    _b(
                        "local-engine",
                        _b(
                            "user kiemke-nms",
                            _b("authentication-sha", _Secret(f'authentication-key "{junos_9(hostname, "snmp-auth")}"')),
                            _b("privacy-aes128", _Secret(f'privacy-key "{junos_9(hostname, "snmp-priv")}"')),
                        ),
                    ),
                ),
                _b(
                    "vacm",
                    _b("security-to-group", _b("security-model usm", _b("security-name kiemke-nms", "group NMS-PRIV"))),
                    _b("access", _b("group NMS-PRIV", _b("default-context-prefix", _b("security-model usm", _b("security-level privacy", "read-view ALL"))))),
                ),
            ),
            _b("view ALL", "oid .1 include"),
            *communities,
        ),
        _b("routing-options", _b("static", f"route 0.0.0.0/0 next-hop {gateway}")),
        _b("protocols", _b("lldp", "interface all"), _b("rstp", _b("interface ACCESS-PORTS", "edge"), "bpdu-block-on-edge")),
        _b("policy-options", _b("prefix-list MGMT-HOSTS", str(net))),
        _b(
            "firewall",
            _b(
                "family inet",
                _b(
                    "filter PROTECT-RE",
                    _b("term SSH-FROM-MGMT", _b("from", from_mgmt, "protocol tcp", "destination-port ssh"), "then accept"),
                    _b("term SNMP-FROM-MGMT", _b("from", from_mgmt, "protocol udp", "destination-port snmp"), "then accept"),
                    _b("term NTP", _b("from", _b("source-address", f"{ntp1}/32", f"{ntp2}/32"), "protocol udp", "port ntp"), "then accept"),
                    _b("term ICMP", _b("from", "protocol icmp"), "then accept"),
                    _b("term DENY-REST", _b("then", "count re-denied", "discard")),
                ),
            ),
        ),
        _b("vlans", _b("MGMT", "vlan-id 99", "l3-interface irb.99"), _b("USERS", "vlan-id 10")),
    )
    return "\n".join([_last_commit(hostname, username), *_render(tree)]) + "\n"


# ------------------------------------------------------------------------------ display set

# A quoted string, a brace-form punctuation, or a word (as the parser tokenises).
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{};\[\]]|[^\s{};\[\]"]+')


def display_set(config: str) -> str:
    """`show configuration | display set` for a hierarchical `show configuration` text.

    One `set` line per leaf statement, in order; `[ a b ]` lists give one line per value;
    comments (`## Last commit`, `## SECRET-DATA`) are not part of the set form."""
    out: list[str] = []
    path: list[list[str]] = []
    pending: list[str] = []
    for line in config.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for piece in _TOKEN.findall(line):
            if piece.startswith("#"):
                break  # a trailing comment
            if piece == "{":
                path.append(pending)
                pending = []
            elif piece == "}":
                path.pop()
            elif piece == ";":
                prefix = [w for words in path for w in words]
                if "[" in pending:
                    at = pending.index("[")
                    out += [" ".join(["set", *prefix, *pending[:at], value]) for value in pending[at + 1 :] if value != "]"]
                else:
                    out.append(" ".join(["set", *prefix, *pending]))
                pending = []
            else:
                pending.append(piece)
    if path or pending:
        raise ValueError("the configuration's braces do not match")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------- show outputs

_OS_BUILD = "20231004.5d6e7f8_builder_stable_12"  # the FreeBSD base's build stamp (made up)


def show_version(hostname: str, model: str, os_version: str) -> str:
    """EX `show version` (one FPC); parses with ntc-templates juniper_junos_show_version."""
    packages = [
        ("JUNOS OS Kernel 32-bit ", _OS_BUILD),
        ("JUNOS OS libs", _OS_BUILD),
        ("JUNOS OS runtime", _OS_BUILD),
        ("JUNOS OS time zone information", _OS_BUILD),
        ("JUNOS OS libs compat32", _OS_BUILD),
        ("JUNOS OS 32-bit compatibility", _OS_BUILD),
        ("JUNOS py extensions", os_version),
        ("JUNOS py base", os_version),
        ("JUNOS OS vmguest", _OS_BUILD),
        ("JUNOS OS crypto", _OS_BUILD),
        ("JUNOS network stack and utilities", os_version),
        ("JUNOS libs compat32", os_version),
        ("JUNOS runtime", os_version),
        ("JUNOS na telemetry", os_version),
        ("JUNOS Web Management Platform Package", os_version),
        ("JUNOS ex libs", os_version),
        ("JUNOS ex runtime", os_version),
        ("JUNOS ex platform support", os_version),
        ("JUNOS Openconfig", os_version),
        ("JUNOS modules", os_version),
        ("JUNOS ex modules", os_version),
        ("JUNOS ex Data Plane Crypto Support", os_version),
        ("JUNOS daemons", os_version),
        ("JUNOS ex daemons", os_version),
        ("JUNOS Online Documentation", os_version),
    ]
    head = ["fpc0:", "-" * 74, f"Hostname: {hostname}", f"Model: {model.lower()}", f"Junos: {os_version}"]
    return "\n".join(head + [f"{name} [{build}]" for name, build in packages]) + "\n"


def _hardware_row(item: str, version: str, part: str, serial: str, description: str) -> str:
    return f"{item:<17}{version:<9}{part:<13}{serial:<18}{description}".rstrip()


def show_chassis_hardware(model: str, serial: str) -> str:
    """EX `show chassis hardware`; parses with ntc-templates juniper_junos_show_chassis_hardware."""
    upper = model.upper()
    ports = _access_ports(model)
    board = f"650-{zlib.crc32(upper.encode()) % 1000000:06d}"
    rows = [
        "Hardware inventory:",
        "Item             Version  Part number  Serial number     Description",
        _hardware_row("Chassis", "", "", serial, upper),
        "Pseudo CB 0",
        _hardware_row("Routing Engine 0", "", "BUILTIN", "BUILTIN", f"RE-{upper}"),
        _hardware_row("FPC 0", "REV 11", board, serial, upper),
        _hardware_row("  CPU", "", "BUILTIN", "BUILTIN", "FPC CPU"),
        _hardware_row("  PIC 0", "REV 11", board, serial, f"{ports}x10/100/1000 Base-T"),
        _hardware_row("  PIC 1", "REV 11", board, serial, "4x1/10G SFP/SFP+"),
        _hardware_row("Fan Tray 0", "", "", "", "Fan Module, Airflow Out (AFO)"),
    ]
    return "\n".join(rows) + "\n"


def command_outputs(
    hostname: str,
    model: str,
    serial: str,
    os_version: str,
    running_config: str,
    *,
    mac: str = "00:1a:2b:3c:4d:5e",
) -> dict[str, str]:
    """{command line as netmiko and the collector send it: output} for a lab Junos switch.

    `mac` is accepted for the common surface; no command here prints it."""
    del mac
    return {
        "set cli screen-width 511": "Screen width set to 511",
        "set cli complete-on-space off": "Disabling complete-on-space",
        "set cli screen-length 0": "Screen length set to 0",
        "show version": show_version(hostname, model, os_version),
        "show chassis hardware": show_chassis_hardware(model, serial),
        "show configuration": running_config,
        "show configuration | display set": display_set(running_config),
    }
