"""PAN-OS (PA-series firewall, 10.x/11.x) lab configurations and show outputs.

Pure functions, no I/O. ``running_config`` is what ``show`` prints in configure mode after
``set cli config-output-format set``: one ``set`` statement a line, single-vsys paths. With no
violations it is the hardened golden case tests/compliance/golden/paloalto_panos/pa440_hardened
as a template (hostname, management subnet, release and administrator name as parameters); every
rule id in ``violations`` flips exactly the matching statements:

    ================================ ====================================================
    rule                             hardened  ->  insecure
    ================================ ====================================================
    net.telnet_off                   ``deviceconfig system service disable-telnet yes``
                                     -> ``no``
    net.snmp_v3_only                 the SNMPv3 view and user statements -> ``snmp-setting
                                     access-setting version v2c snmp-community-string
                                     <private name>`` (PAN-OS has either v2c or v3)
    net.snmp_no_default_community    the same with the community ``public``
    net.ntp_two_servers              primary + secondary ``ntp-servers`` -> primary only, or
                                     none at all (by hostname hash)
    net.remote_syslog                the system/config match lists lose ``send-syslog SIEM``
                                     (the profile stays, unused), or the SIEM syslog profile
                                     goes too (by hostname hash)
    net.aaa_login                    the TACACS+ administrator ``noc`` loses its
                                     ``authentication-profile`` line: no credential at all
    net.password_encryption          the TACACS+ server profile's ``secret -AQ==...`` ->
                                     ``secret Tac-<n>`` (a real PAN-OS prints every secret
                                     encrypted; it stands for a hand-edited set script)
    net.http_mgmt_off                ``deviceconfig system service disable-http yes`` -> ``no``
                                     (HTTPS management stays, as the rule allows)
    net.vty_acl                      drops ``deviceconfig system permitted-ip <subnet>``
    net.exec_timeout                 ``setting management idle-timeout 10`` -> ``30`` or ``0``
                                     (never), by hostname hash
    net.fw_default_deny              adds a security rule ``temp-allow-all`` (any zone,
                                     address, application and service, ``action allow``)
                                     before the final ``DENY-LOG``
    ================================ ====================================================

Not applicable (``ValueError`` if asked): see ``NOT_APPLICABLE``. PA-series devices are
firewalls: ``is_firewall=False`` is refused.

Overlaps (``IMPLIES``): a ``public`` community is a v2c community (-> net.snmp_v3_only).

The set form carries neither the model nor the release (the XML root's ``version`` attribute is
not printed); the release only picks the security rules' HIP fields (``source-hip`` /
``destination-hip`` from 10.0, ``hip-profiles`` before).

Randomness: none. Variants are picked by a CRC32 of the hostname; secrets are made-up strings
derived from the hostname (crypt-shaped ``phash``, ``-AQ==`` master-key-shaped ciphertexts).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from collections.abc import Iterable

from collectors.lab.platform_configs import rules
from collectors.lab.spec import NETWORK_CONFIG_RULES

PLATFORM = "paloalto_panos"
DEFAULT_MODEL = "PA-440"
DEFAULT_VERSION = "11.1.2"

NOT_APPLICABLE = frozenset(
    {
        "net.ssh_v2_only",  # no PAN-OS statement selects the SSH version: the parser reports "not evaluated"
        "net.enable_secret",  # no enable mode: the parser reports "not applicable"
        "net.snmp_no_rw_community",  # PAN-OS SNMP has no SET (read-only): the rule always passes
    }
)

# rule -> rules its insecure form necessarily also breaks on PAN-OS
IMPLIES: dict[str, frozenset[str]] = {
    "net.snmp_no_default_community": frozenset({"net.snmp_v3_only"}),
}

# What netmiko's PaloAltoPanosSSH session preparation sends, then the set-form switch the
# collector sends before ``configure`` / ``show``. Each answers nothing.
SESSION_COMMANDS = ("set cli scripting-mode on", "set cli pager off", "set cli terminal width 500", "set cli config-output-format set")

_ADMIN_TACACS = "noc"  # the administrator who signs in through TACACS+
_SNMP_USER = "nms01"
_CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_STD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def applicable_rules(*, is_firewall: bool) -> frozenset[str]:
    """Rule ids a PAN-OS lab device can be made to violate."""
    _firewall_only(is_firewall)
    return frozenset(NETWORK_CONFIG_RULES) - NOT_APPLICABLE


def implied_violations(violations: Iterable[str]) -> frozenset[str]:
    """The full set of rule ids the checker finds in a config built with ``violations``."""
    return rules.implied(violations, IMPLIES)


def _firewall_only(is_firewall: bool) -> None:
    if not is_firewall:
        raise ValueError(f"{PLATFORM} lab devices are firewalls: is_firewall=False is not supported")


def _check(violations: Iterable[str], is_firewall: bool) -> frozenset[str]:
    return rules.checked(PLATFORM, violations, applicable_rules(is_firewall=is_firewall), is_firewall=is_firewall)


def _h(hostname: str, salt: str = "") -> int:
    return rules.variant(hostname, salt)


def _digest(hostname: str, salt: str) -> bytes:
    return hashlib.sha256(f"{salt}:{hostname}".encode()).digest()


def _phash(hostname: str, salt: str) -> str:
    """A sha256-crypt-shaped ``$5$<salt>$<hash>`` (of no password: the lab never verifies it)."""
    crypt64 = str.maketrans(_STD_ALPHABET, _CRYPT_ALPHABET)
    chars = (base64.b64encode(_digest(hostname, f"{salt}:salt")).decode() + base64.b64encode(_digest(hostname, salt)).decode()).replace("=", "")
    chars = chars.translate(crypt64)
    return f"$5${chars[:8]}${chars[8:51]}"


def _ciphertext(hostname: str, salt: str) -> str:
    """A master-key-shaped ``-AQ==<base64 20 bytes>=<base64 16 bytes>`` (made up, decrypts to nothing)."""
    digest = _digest(hostname, salt)
    return "-AQ==" + base64.b64encode(digest[:20]).decode() + base64.b64encode(digest[16:]).decode()


def _addresses(hostname: str, mgmt_subnet: str) -> dict[str, str]:
    """The management port's address and its neighbours (gateway, NTP, syslog, TACACS+)."""
    net = ipaddress.ip_network(mgmt_subnet, strict=False)
    if net.num_addresses < 32:
        raise ValueError(f"mgmt_subnet {mgmt_subnet} too small (need /27 or larger)")
    span = max(net.num_addresses - 2 - 20, 1)
    at = {"gateway": 1, "ntp1": 2, "ntp2": 3, "syslog": 4, "tacacs": 5, "me": 20 + _h(hostname, "ip") % span}
    return {name: str(net.network_address + n) for name, n in at.items()} | {"subnet": str(net), "netmask": str(net.netmask)}


def _has_hip_fields(os_version: str) -> bool:
    """PAN-OS 10.0 split a security rule's ``hip-profiles`` into ``source-hip`` / ``destination-hip``."""
    major = re.match(r"\d+", os_version.strip())
    if major is None:
        raise ValueError(f"os_version {os_version!r} is not a PAN-OS release (e.g. 11.1.2)")
    return int(major.group()) >= 10


def running_config(
    hostname: str,
    violations: Iterable[str] = (),
    *,
    is_firewall: bool = True,
    mgmt_subnet: str = "10.0.0.0/24",
    model: str = DEFAULT_MODEL,
    os_version: str = DEFAULT_VERSION,
    username: str = "kiemke",
) -> str:
    """What ``show`` prints in configure mode (set form) on a PA-series firewall."""
    _firewall_only(is_firewall)
    v = _check(violations, is_firewall)
    del model  # the set form never names the model (kept for the common signature)
    ip = _addresses(hostname, mgmt_subnet)
    seed = _h(hostname)
    lan = f"192.168.{seed % 250}"
    wan = f"172.16.{(seed >> 8) % 250}"
    hip = ("source-hip", "destination-hip") if _has_hip_fields(os_version) else ("hip-profiles",)

    L: list[str] = []  # noqa: N806 (L: the config's line list, read as a verb)
    a = L.append
    s = "set deviceconfig system"
    a(f"{s} hostname {hostname}")
    a(f"{s} type static")
    a(f"{s} ip-address {ip['me']}")
    a(f"{s} netmask {ip['netmask']}")
    a(f"{s} default-gateway {ip['gateway']}")
    if "net.vty_acl" not in v:
        a(f"{s} permitted-ip {ip['subnet']}")
    a(f"{s} service disable-telnet {'no' if 'net.telnet_off' in v else 'yes'}")
    a(f"{s} service disable-http {'no' if 'net.http_mgmt_off' in v else 'yes'}")
    a(f"{s} service disable-snmp no")
    a(f'{s} login-banner "Chi danh cho can bo duoc phan quyen"')
    a(f"{s} timezone Asia/Ho_Chi_Minh")
    a(f"{s} dns-setting servers primary {ip['gateway']}")
    ntp = ["primary"]
    if "net.ntp_two_servers" not in v:
        ntp.append("secondary")
    elif seed % 2 == 0:
        ntp = []
    for rank in ntp:
        a(f"{s} ntp-servers {rank}-ntp-server ntp-server-address {ip['ntp1' if rank == 'primary' else 'ntp2']}")
        a(f"{s} ntp-servers {rank}-ntp-server authentication-type none")
    a(f"{s} snmp-setting snmp-system location {hostname}")
    snmp = f"{s} snmp-setting access-setting version"
    if "net.snmp_no_default_community" in v:
        a(f"{snmp} v2c snmp-community-string public")
    elif "net.snmp_v3_only" in v:
        a(f"{snmp} v2c snmp-community-string Kk{seed % 100000:05d}ro")
    else:
        a(f"{snmp} v3 views RO-VIEW view ALL oid 1.3.6.1")
        a(f"{snmp} v3 views RO-VIEW view ALL option include")
        a(f"{snmp} v3 views RO-VIEW view ALL mask 0xf0")
        a(f"{snmp} v3 users {_SNMP_USER} view RO-VIEW")
        a(f"{snmp} v3 users {_SNMP_USER} authpwd {_ciphertext(hostname, 'snmp-auth')}")
        a(f"{snmp} v3 users {_SNMP_USER} privpwd {_ciphertext(hostname, 'snmp-priv')}")
    timeout = ("0" if seed % 2 else "30") if "net.exec_timeout" in v else "10"
    a(f"set deviceconfig setting management idle-timeout {timeout}")
    a("set deviceconfig setting management admin-lockout failed-attempts 5")
    a("set deviceconfig setting management admin-lockout lockout-time 15")
    a("set deviceconfig setting management enable-log-high-dp-load yes")
    a(f"set mgt-config users {username} phash {_phash(hostname, 'admin')}")
    a(f"set mgt-config users {username} permissions role-based superuser yes")
    if "net.aaa_login" not in v:
        a(f"set mgt-config users {_ADMIN_TACACS} authentication-profile TACACS-AUTH")
    a(f"set mgt-config users {_ADMIN_TACACS} permissions role-based superreader yes")
    a("set mgt-config password-complexity enabled yes")
    a("set mgt-config password-complexity minimum-length 12")
    tac = "set shared server-profile tacplus TACACS server TACACS-1"
    a(f"{tac} address {ip['tacacs']}")
    a(f"{tac} secret {f'Tac-{seed % 10000:04d}' if 'net.password_encryption' in v else _ciphertext(hostname, 'tacacs')}")
    a(f"{tac} port 49")
    a("set shared server-profile tacplus TACACS protocol CHAP")
    a("set shared authentication-profile TACACS-AUTH method tacplus server-profile TACACS")
    syslog_used = "net.remote_syslog" not in v
    if syslog_used or seed % 2:  # odd hashes keep the profile, unused
        siem = "set shared log-settings syslog SIEM server SIEM-1"
        a(f"{siem} server {ip['syslog']}")
        a(f"{siem} transport UDP")
        a(f"{siem} port 514")
        a(f"{siem} format BSD")
        a(f"{siem} facility LOG_USER")
    for kind, match in (("system", "SYSTEM-ALL"), ("config", "CONFIG-ALL")):
        if syslog_used:
            a(f"set shared log-settings {kind} match-list {match} send-syslog SIEM")
        a(f'set shared log-settings {kind} match-list {match} filter "All Logs"')
    a("set network profiles interface-management-profile PING-ONLY ping yes")
    a(f"set network interface ethernet ethernet1/1 layer3 ip {wan}.2/30")
    a(f"set network interface ethernet ethernet1/2 layer3 ip {lan}.1/24")
    a("set network interface ethernet ethernet1/2 layer3 interface-management-profile PING-ONLY")
    a("set network virtual-router default interface [ ethernet1/1 ethernet1/2 ]")
    a("set network virtual-router default routing-table ip static-route DEFAULT destination 0.0.0.0/0")
    a(f"set network virtual-router default routing-table ip static-route DEFAULT nexthop ip-address {wan}.1")
    a("set zone trust network layer3 ethernet1/2")
    a("set zone untrust network layer3 ethernet1/1")
    a("set import network interface [ ethernet1/1 ethernet1/2 ]")
    a(f"set address LAN-NET ip-netmask {lan}.0/24")
    # (name, from, to, source, application, service, action); destination is always any
    rules = [("LAN-to-WEB", "trust", "untrust", "LAN-NET", "[ web-browsing ssl dns ]", "application-default", "allow")]
    if "net.fw_default_deny" in v:
        rules.append(("temp-allow-all", "any", "any", "any", "any", "any", "allow"))
    rules.append(("DENY-LOG", "any", "any", "any", "any", "any", "deny"))
    for name, src_zone, dst_zone, source, application, service, action in rules:
        r = f"set rulebase security rules {name}"
        a(f"{r} from {src_zone}")
        a(f"{r} to {dst_zone}")
        a(f"{r} source {source}")
        a(f"{r} destination any")
        a(f"{r} source-user any")
        a(f"{r} category any")
        a(f"{r} application {application}")
        a(f"{r} service {service}")
        for field in hip:
            a(f"{r} {field} any")
        a(f"{r} action {action}")
        a(f"{r} log-end yes")
    n = "set rulebase nat rules LAN-OUT"
    a(f"{n} from trust")
    a(f"{n} to untrust")
    a(f"{n} source LAN-NET")
    a(f"{n} destination any")
    a(f"{n} service any")
    a(f"{n} source-translation dynamic-ip-and-port interface-address interface ethernet1/1")
    return "\n".join(L) + "\n"


def _family(model: str) -> str:
    """'PA-440' -> '400', 'PA-3220' -> '3200', 'PA-220' -> '220', 'PA-VM' -> 'vm' (``show system info``'s family)."""
    digits = re.sub(r"\D", "", model)
    if not digits:
        return "vm" if "VM" in model.upper() else "unknown"
    if digits == "220":
        return "220"
    keep = 1 if len(digits) <= 3 else 2
    return digits[:keep] + "0" * (len(digits) - keep)


def _link_local(mac: str) -> str:
    """The EUI-64 IPv6 link-local address of a MAC, as PAN-OS prints it (with /64)."""
    digits = re.sub(r"[^0-9a-fA-F]", "", mac).lower()
    if len(digits) != 12:
        raise ValueError(f"mac {mac!r} is not a MAC address")
    eui = f"{int(digits[:2], 16) ^ 0x02:02x}{digits[2:6]}fffe{digits[6:]}"
    return str(ipaddress.IPv6Address(int("fe80" + "0" * 12 + eui, 16))) + "/64"


def _statement(running: str, path: str) -> str:
    """The value of ``set deviceconfig system <path> <value>`` in a set-form config ("unknown" if none)."""
    m = re.search(rf"^set deviceconfig system {path} (\S+)$", running, re.M)
    return m.group(1) if m else "unknown"


def show_system_info(hostname: str, model: str, serial: str, os_version: str, running: str, *, mac: str) -> str:
    """``show system info`` of a PA-series firewall (11.x layout); parses with ntc-templates
    ``paloalto_panos_show_system_info``. The management address is the config's."""
    seed = _h(hostname, "system")
    family = _family(model)
    release = ".".join(os_version.split(".")[:2])
    lines = [
        f"hostname: {hostname}",
        f"ip-address: {_statement(running, 'ip-address')}",
        "public-ip-address: unknown",
        f"netmask: {_statement(running, 'netmask')}",
        f"default-gateway: {_statement(running, 'default-gateway')}",
        f"ip-assignment: {_statement(running, 'type')}",
        "ipv6-address: unknown",
        f"ipv6-link-local-address: {_link_local(mac)}",
        f"mac-address: {mac.lower()}",
        "time: Mon Mar 24 09:15:02 2025",
        f"uptime: {1 + seed % 300} days, {seed % 24}:{seed % 60:02d}:{(seed >> 6) % 60:02d}",
        f"family: {family}",
        f"model: {model}",
        f"serial: {serial}",
        "cloud-mode: non-cloud",
        f"sw-version: {os_version}",
        "global-protect-client-package-version: 0.0.0",
        "device-dictionary-version: 107-486",
        "device-dictionary-release-date: 2025/03/19 17:02:44 ICT",
        "app-version: 8950-9244",
        "app-release-date: 2025/03/20 19:57:29 ICT",
        "av-version: 0",
        "av-release-date: unknown",
        "threat-version: 0",
        "threat-release-date: unknown",
        "wf-private-version: 0",
        "wf-private-release-date: unknown",
        "url-db: paloaltonetworks",
        "wildfire-version: 0",
        "wildfire-release-date: unknown",
        "wildfire-rt: Disabled",
        "url-filtering-version: 20250323.20224",
        "global-protect-datafile-version: unknown",
        "global-protect-datafile-release-date: unknown",
        "global-protect-clientless-vpn-version: 0",
        f"logdb-version: {release}.0",
        f"platform-family: {family}",
        "vpn-disable-mode: off",
        "multi-vsys: off",
        "ZTP: Disabled",
        "operational-mode: normal",
        "advanced-routing: off",
        "device-certificate-status: Valid",
    ]
    return "\n".join(lines) + "\n"


def command_outputs(hostname: str, model: str, serial: str, os_version: str, running_config: str, *, mac: str = "00:1a:2b:3c:4d:5e") -> dict[str, str]:
    """{command line as sent: output} for every command netmiko and the collector send
    (``exit`` out of configure mode is the lab shell's own)."""
    outputs = dict.fromkeys(SESSION_COMMANDS, "")
    outputs["show system info"] = show_system_info(hostname, model, serial, os_version, running_config, mac=mac)
    outputs["configure"] = "Entering configuration mode"
    outputs["show"] = running_config
    return outputs
