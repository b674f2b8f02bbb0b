"""Running-configurations and display outputs of the simulated Huawei VRP devices.

Pure functions, no I/O. Two forms, both as the device prints ``display current-configuration``:
an S5735 access switch (VRP V200) and, with ``is_firewall``, a USG6000E edge firewall (V600,
with a ``security-policy``). Both start from the hardened golden cases
(tests/compliance/golden/huawei_vrp/{s5735,usg6000}_hardened). With no violations every
baseline rule passes; each rule id in ``violations`` flips exactly the matching part:

    ============================== ===========================================================
    rule                           hardened  ->  insecure
    ============================== ===========================================================
    net.telnet_off                 ``undo telnet server enable`` -> ``telnet server enable``
                                   and vty ``protocol inbound ssh`` -> ``protocol inbound all``
    net.ssh_v2_only                ``undo ssh server compatible-ssh1x enable`` ->
                                   ``ssh server compatible-ssh1x enable``
    net.snmp_v3_only               adds ``snmp-agent community read cipher %^%#…%^%# acl 2001``;
                                   ``snmp-agent sys-info version v3`` -> ``v2c v3``
    net.snmp_no_default_community  adds ``snmp-agent community read public`` (a name in clear:
                                   a legacy or hand-edited file, V200 prints names ciphered);
                                   ``sys-info version v3`` -> ``v2c v3``
    net.snmp_no_rw_community       adds ``snmp-agent community write cipher %^%#…%^%# acl 2001``;
                                   ``sys-info version v3`` -> ``v2c v3``
    net.ntp_two_servers            2 ``ntp-service unicast-server`` lines -> 1 or 0 (hash)
    net.remote_syslog              drops the ``info-center loghost`` lines, or adds
                                   ``undo info-center enable`` (hash)
    net.aaa_login                  vty ``authentication-mode aaa`` -> ``authentication-mode
                                   password`` with ``set authentication password cipher …``
    net.enable_secret              switch: ``local-user U password irreversible-cipher $1a$…``
                                   -> ``… password cipher %@%@…%@%@`` (reversible);
                                   USG: adds ``super password level 15 cipher @%@%…@%@%``
                                   (a reversible enable-level password)
    net.password_encryption        ``hwtacacs-server shared-key cipher %^%#…%^%#`` ->
                                   ``hwtacacs-server shared-key simple Tac-<n>`` (plaintext;
                                   a local-user ``simple`` password would break
                                   net.enable_secret too)
    net.http_mgmt_off              switch: ``undo http server enable`` -> ``http server enable``
                                   plus ``http acl 2001`` unless net.vty_acl is violated too (so
                                   the web server stays source-filtered); USG: adds
                                   ``web-manager enable`` and ``service-manage http permit`` on
                                   the management interface (in no zone)
    net.vty_acl                    drops the vty ``acl 2001 inbound``
    net.exec_timeout               vty ``idle-timeout 10 0`` -> ``30 0`` or ``0 0`` (hash)
    net.fw_default_deny            (USG only) adds ``rule name temp-allow-all`` with only
                                   ``action permit`` (no condition: any/any/any)
    ============================== ===========================================================

Overlaps: every community is a v1/v2c community, so the two community rules also break
net.snmp_v3_only (``IMPLIES``). No other rule implies another.

Not evaluated even when hardened (docs/config-rules.md): on the USG, net.enable_secret, because
whether the ``manager-user … password cipher`` form is reversible is unconfirmed. It still
fails when violated (the super password is reversible whatever the manager-user form is).

Randomness: none. Variants are picked from a CRC32 of the hostname; ciphertexts are made up
from a hash of the hostname (format-faithful, never a real password).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Iterable

from collectors.lab.platform_configs import rules

PLATFORM = "huawei_vrp"

# Every rule can be broken on VRP: the parser decides each from statements a device can carry.
NOT_APPLICABLE: frozenset[str] = frozenset()

# rule -> rules its insecure form necessarily also breaks: a community is a v1/v2c community.
IMPLIES: dict[str, frozenset[str]] = {
    "net.snmp_no_default_community": frozenset({"net.snmp_v3_only"}),
    "net.snmp_no_rw_community": frozenset({"net.snmp_v3_only"}),
}

VRP_VERSION = "5.170"  # the VRP kernel both V200R021 (S5735) and V600 (USG6000E) print
_ACL = "2001"  # the management-hosts ACL every management entry is bound to
# ciphertext alphabet: printable, without the marker characters (% # @ $) and no space
_CIPHER_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!^&*()_+-=[]{};:,.<>?~"


def applicable_rules(*, is_firewall: bool) -> frozenset[str]:
    """Rule ids a VRP device (switch, or USG firewall) can be made to violate."""
    return rules.applicable(NOT_APPLICABLE, is_firewall=is_firewall)


def implied_violations(violations: Iterable[str]) -> frozenset[str]:
    """The full set of rule ids the checker finds in a config built with ``violations``."""
    return rules.implied(violations, IMPLIES)


def _check(violations: Iterable[str], is_firewall: bool) -> frozenset[str]:
    return rules.checked(PLATFORM, violations, applicable_rules(is_firewall=is_firewall), is_firewall=is_firewall)


def _h(hostname: str, salt: str = "") -> int:
    return rules.variant(hostname, salt)


def _made_up(hostname: str, purpose: str, length: int) -> str:
    """Deterministic ciphertext-looking characters for one secret of one device."""
    return rules.opaque(f"{purpose}:{hostname}", length, _CIPHER_CHARS)


def _cipher(hostname: str, purpose: str) -> str:
    """V200 reversible ciphertext, as `cipher` shows it: %^%#…%^%#."""
    return f"%^%#{_made_up(hostname, purpose, 40)}%^%#"


def _irreversible(hostname: str, purpose: str) -> str:
    """A `password irreversible-cipher` hash: $1a$<salt>$<hash>$."""
    return f"$1a${_made_up(hostname, purpose + ':salt', 10)}${_made_up(hostname, purpose, 40)}$"


def _hosts(mgmt_subnet: str) -> list[str]:
    net = ipaddress.ip_network(mgmt_subnet, strict=False)
    if net.num_addresses < 16:
        raise ValueError(f"mgmt_subnet {mgmt_subnet} too small (need /28 or larger)")
    return [str(net.network_address + i) for i in range(16)]


def _device_ip(hostname: str, mgmt_subnet: str) -> str:
    net = ipaddress.ip_network(mgmt_subnet, strict=False)
    span = max(net.num_addresses - 2 - 20, 1)
    return str(net.network_address + 20 + _h(hostname, "ip") % span)


def running_config(
    hostname: str,
    violations: Iterable[str] = (),
    *,
    is_firewall: bool = False,
    mgmt_subnet: str = "10.0.0.0/24",
    model: str = "S5735-L24T4S-A",  # noqa: ARG001 (the shared interface: a VRP configuration never names its model)
    os_version: str = "V200R021",
    username: str = "kiemke",
) -> str:
    """``display current-configuration`` of an S5735 switch, or of a USG firewall (``is_firewall``).

    ``model`` appears only in ``display version``; a firewall caller passes its USG model and
    release (e.g. USG6510E, V600R007)."""
    v = _check(violations, is_firewall)
    hosts = _hosts(mgmt_subnet)
    gateway, ntp1, ntp2, syslog, tacacs = hosts[1], hosts[2], hosts[3], hosts[4], hosts[5]
    net = ipaddress.ip_network(mgmt_subnet, strict=False)
    my_ip = _device_ip(hostname, mgmt_subnet)
    seed = _h(hostname)
    mgmt_if = "GigabitEthernet0/0/0" if is_firewall else "Vlanif99"
    top = " " if is_firewall else ""  # USG indents some top-level statements by one space

    L: list[str] = []  # noqa: N806 (L: the config's line list, read as a verb)
    a = L.append
    a(f"!Software Version {os_version}")
    a(f"!Last configuration was updated at 2026-11-{1 + seed % 28:02d} 09:{seed % 60:02d}:{seed // 60 % 60:02d}+07:00 by {username}")
    a("#")
    a(f"sysname {hostname}")
    a("#")
    if "net.remote_syslog" in v and seed % 2:
        a("undo info-center enable")  # the information center off: no log leaves the device
    a(f"info-center loghost source {mgmt_if}")
    if "net.remote_syslog" not in v or seed % 2:
        a(f"info-center loghost {syslog}")
    a("#")
    if not is_firewall:
        a("vlan batch 10 20 99")
        a("#")
    a(f"{top}telnet server enable" if "net.telnet_off" in v else f"{top}undo telnet server enable")
    a(f"{top}undo telnet ipv6 server enable")
    a("#")
    if is_firewall:
        if "net.http_mgmt_off" in v:
            a("web-manager enable")
            a("#")
    else:
        a("http server enable" if "net.http_mgmt_off" in v else "undo http server enable")
        if "net.http_mgmt_off" in v and "net.vty_acl" not in v:
            a(f"http acl {_ACL}")  # else the web server is a second, open way in
        a("undo http secure-server enable")
        a("#")
    a("clock timezone ICT add 07:00:00")
    a("#")
    a(f"acl number {_ACL}")
    a(" description MGMT-HOSTS")
    a(f" rule 5 permit source {net.network_address} {net.hostmask}")
    a(" rule 100 deny")
    a("#")
    if "net.enable_secret" in v and is_firewall:
        a(f"super password level 15 cipher @%@%{_made_up(hostname, 'super', 32)}@%@%")
        a("#")
    a("hwtacacs-server template KIEMKE")
    a(f" hwtacacs-server authentication {tacacs}")
    a(f" hwtacacs-server authorization {tacacs}")
    a(f" hwtacacs-server accounting {tacacs}")
    if "net.password_encryption" in v:
        a(f" hwtacacs-server shared-key simple Tac-{seed % 10000:04d}")
    else:
        a(f" hwtacacs-server shared-key cipher {_cipher(hostname, 'tacacs')}")
    a("#")
    a("aaa")
    a(" authentication-scheme default")
    a(" authentication-scheme tacacs")
    a("  authentication-mode hwtacacs local")
    a(" authorization-scheme default")
    a(" accounting-scheme default")
    a(" domain default")
    a(" domain default_admin")
    a("  authentication-scheme tacacs")
    a("  hwtacacs-server KIEMKE")
    if is_firewall:
        a(f" manager-user {username}")
        a(f"  password cipher @%@%{_made_up(hostname, 'manager', 32)}@%@%")
        a("  service-type ssh terminal")
        a("  level 15")
        a(f" bind manager-user {username} role system-admin")
    else:
        if "net.enable_secret" in v:
            a(f" local-user {username} password cipher %@%@{_made_up(hostname, 'user', 36)}%@%@")
        else:
            a(f" local-user {username} password irreversible-cipher {_irreversible(hostname, 'user')}")
        a(f" local-user {username} privilege level 15")
        a(f" local-user {username} service-type ssh terminal")
    a("#")
    _interfaces(a, v, is_firewall=is_firewall, my_ip=my_ip, netmask=str(net.netmask), seed=seed)
    a("snmp-agent")
    a(f"snmp-agent local-engineid 800007DB03{hashlib.sha256(hostname.encode()).hexdigest()[:12].upper()}")
    communities = [f"read cipher {_cipher(hostname, 'community-ro')} acl {_ACL}"] if "net.snmp_v3_only" in v else []
    if "net.snmp_no_default_community" in v:
        communities.append("read public")
    if "net.snmp_no_rw_community" in v:
        communities.append(f"write cipher {_cipher(hostname, 'community-rw')} acl {_ACL}")
    for community in communities:
        a(f"snmp-agent community {community}")
    a("snmp-agent sys-info version " + ("v2c v3" if communities else "v3"))
    a(f"snmp-agent sys-info location {hostname}")
    a(f"snmp-agent group v3 NMS-PRIV privacy read-view iso-view acl {_ACL}")
    a(f"snmp-agent target-host trap address udp-domain {syslog} params securityname nms01 v3 privacy")
    a("snmp-agent mib-view included iso-view iso")
    a("snmp-agent usm-user v3 nms01")
    a("snmp-agent usm-user v3 nms01 group NMS-PRIV")
    a(f"snmp-agent usm-user v3 nms01 authentication-mode sha2-256 cipher {_cipher(hostname, 'usm-auth')}")
    a(f"snmp-agent usm-user v3 nms01 privacy-mode aes128 cipher {_cipher(hostname, 'usm-priv')}")
    a("#")
    a("stelnet server enable")
    a("ssh server compatible-ssh1x enable" if "net.ssh_v2_only" in v else "undo ssh server compatible-ssh1x enable")
    a(f"ssh server-source -i {mgmt_if}")
    a(f"ssh server acl {_ACL}")
    a(f"ssh user {username}")
    a(f"ssh user {username} authentication-type password")
    a(f"ssh user {username} service-type stelnet")
    a("#")
    if "net.ntp_two_servers" not in v or seed % 2:
        a(f"ntp-service unicast-server {ntp1}")
    if "net.ntp_two_servers" not in v:
        a(f"ntp-service unicast-server {ntp2}")
    a("#")
    if is_firewall:
        a(f"ip route-static 0.0.0.0 0.0.0.0 172.16.{seed % 250}.1")
    else:
        a(f"ip route-static 0.0.0.0 0.0.0.0 {gateway}")
    a("#")
    a("user-interface con 0")
    a(" authentication-mode aaa")
    a(" idle-timeout 5 0")
    a("user-interface vty 0 4")
    if "net.vty_acl" not in v:
        a(f" acl {_ACL} inbound")
    if "net.aaa_login" in v:
        a(" authentication-mode password")
        a(f" set authentication password cipher {_cipher(hostname, 'vty')}")
    else:
        a(" authentication-mode aaa")
    a(" protocol inbound all" if "net.telnet_off" in v else " protocol inbound ssh")
    if "net.exec_timeout" in v:
        a(" idle-timeout 0 0" if seed % 2 else " idle-timeout 30 0")
    else:
        a(" idle-timeout 10 0")
    a("#")
    if is_firewall:
        _security_policy(a, v, str(net.network_address), str(net.netmask), ntp1)
    a("return")
    return "\n".join(L) + "\n"


def _interfaces(a: Callable[[str], object], v: frozenset[str], *, is_firewall: bool, my_ip: str, netmask: str, seed: int) -> None:
    """Interfaces (and, on the USG, security zones): no rule is decided here but HTTP on the USG."""
    if not is_firewall:
        a("interface Vlanif99")
        a(" description MGMT")
        a(f" ip address {my_ip} {netmask}")
        a("#")
        for port in range(1, 9):
            a(f"interface GigabitEthernet0/0/{port}")
            a(" port link-type access")
            a(f" port default vlan {10 if port <= 4 else 20}")
            a(" stp edged-port enable")
            a("#")
        a("interface XGigabitEthernet0/0/1")
        a(" description UPLINK")
        a(" port link-type trunk")
        a(" port trunk allow-pass vlan 10 20 99")
        a("#")
        return
    a("interface GigabitEthernet0/0/0")
    a(" undo shutdown")
    a(" ip binding vpn-instance default")
    a(f" ip address {my_ip} {netmask}")
    a(" alias GE0/METH")
    if "net.http_mgmt_off" in v:
        a(" service-manage http permit")
    a(" service-manage ssh permit")
    a(" service-manage ping permit")
    a("#")
    a("interface GigabitEthernet1/0/0")
    a(" undo shutdown")
    a(f" ip address 172.16.{seed % 250}.2 255.255.255.252")
    a("#")
    a("interface GigabitEthernet1/0/1")
    a(" undo shutdown")
    a(f" ip address 10.{30 + seed % 200}.0.1 255.255.0.0")
    a("#")
    a("firewall zone trust")
    a(" set priority 85")
    a(" add interface GigabitEthernet1/0/1")
    a("#")
    a("firewall zone untrust")
    a(" set priority 5")
    a(" add interface GigabitEthernet1/0/0")
    a("#")


def _security_policy(a: Callable[[str], object], v: frozenset[str], mgmt_net: str, mgmt_mask: str, ntp: str) -> None:
    """The USG's interzone rules; the default action stays deny (not displayed)."""
    a("security-policy")
    a(" rule name LAN-to-WEB")
    a("  source-zone trust")
    a("  destination-zone untrust")
    a("  service http")
    a("  service https")
    a("  service dns")
    a("  action permit")
    a(" rule name MGMT-NTP")
    a("  source-zone local")
    a("  destination-zone trust")
    a(f"  destination-address {ntp} mask 255.255.255.255")
    a("  service ntp")
    a("  action permit")
    a(" rule name MGMT-SNMP")
    a("  source-zone trust")
    a("  destination-zone local")
    a(f"  source-address {mgmt_net} mask {mgmt_mask}")
    a("  service snmp")
    a("  action permit")
    if "net.fw_default_deny" in v:
        a(" rule name temp-allow-all")  # no condition: any zone, address and service
        a("  action permit")
    a("#")


def _display_version(model: str, os_version: str, uptime: str) -> str:
    """``display version``: the switch form (``… Routing Switch uptime is``) or the USG form."""
    head = (
        "Huawei Versatile Routing Platform Software\n"
        # the product version is exactly "<model> <os_version>": what is collected is what is recorded
        f"VRP (R) software, Version {VRP_VERSION} ({model} {os_version})\n"
    )
    if model.upper().startswith("USG"):
        return (
            head + "Copyright (C) 2014-2023 Huawei Technologies Co., Ltd.\n"
            f"Huawei {model} uptime is {uptime}\n"
            "\n"
            "MPU(Master) 0 : uptime is " + uptime + "\n"
            "  SDRAM Memory Size    : 8192     M bytes\n"
            "  Flash Memory Size    : 512      M bytes\n"
            "  CFCARD Memory Size   : 1024     M bytes\n"
            "  MPU version information :\n"
            "  1. PCB      Version  : H801USG6510E VER.B\n"
            "  2. Board    Type     : " + model + "\n"
            "  3. BootROM  Version  : 0212\n"
            f"  4. Software Version  : VRP (R) Software, Version {VRP_VERSION} ({os_version})\n"
        )
    return (
        head + "Copyright (C) 2000-2021 HUAWEI TECH Co., Ltd.\n"
        f"HUAWEI {model} Routing Switch uptime is {uptime}\n"
        "\n"
        f"ES5D2T28S005 0(Master) : uptime is {uptime}\n"
        "DDR             Memory Size : 1024  M bytes\n"
        "FLASH Total     Memory Size : 1024  M bytes\n"
        "FLASH Available Memory Size : 511   M bytes\n"
        "Pcb           Version   : VER.A\n"
        "BootROM       Version   : 020a.0001\n"
        "BootLoad      Version   : 020a.0001\n"
        "CPLD          Version   : 0104\n"
        f"Software      Version   : VRP (R) Software, Version {VRP_VERSION} ({os_version})\n"
        "FLASH         Version   : 0000.0000\n"
    )


def _count(n: int, unit: str) -> str:
    """VRP's uptime parts: "1 week", "0 day", "3 hours"."""
    return f"{n} {unit}" + ("s" if n > 1 else "")


def command_outputs(
    hostname: str,
    model: str,
    serial: str,
    os_version: str,
    running_config: str,
    *,
    mac: str = "00:1a:2b:3c:4d:5e",  # noqa: ARG001 (the shared interface; VRP prints no MAC in these outputs)
) -> dict[str, str]:
    """{command line exactly as sent: output} for netmiko's session preparation and the collector."""
    seed = _h(hostname, "uptime")
    uptime = ", ".join(_count(n, unit) for n, unit in ((seed % 52, "week"), (seed % 7, "day"), (seed % 24, "hour"), (seed % 60, "minute")))
    return {
        "screen-length 0 temporary": "Info: The configuration takes effect on the current user terminal interface only.\n",
        "display version": _display_version(model, os_version, uptime),
        "display esn": f"ESN of slot 0: {serial}\n",
        "display current-configuration": running_config,
    }
