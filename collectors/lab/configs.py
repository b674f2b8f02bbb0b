"""Running-configurations and show-command outputs for the simulated SSH devices.

Pure functions, no I/O. With an empty ``violations`` set a configuration is hardened per the
3676 minimum-configuration baseline (see ``NETWORK_CONFIG_RULES`` in spec.py); every rule id in
``violations`` flips exactly the matching part to an insecure form:

Cisco IOS (``cisco_ios_config``)
    ================================ ====================================================
    rule                             hardened  ->  insecure
    ================================ ====================================================
    net.telnet_off                   vty ``transport input ssh`` -> ``transport input telnet ssh``
    net.ssh_v2_only                  ``ip ssh version 2`` -> ``ip ssh version 1`` or no
                                     version line at all (IOS default 1.99), by hostname hash
    net.snmp_v3_only                 adds ``snmp-server community <private name> RO MGMT-ACL``
    net.snmp_no_default_community    adds ``snmp-server community public RO MGMT-ACL``
    net.snmp_no_rw_community         adds ``snmp-server community <private name> RW MGMT-ACL``
    net.ntp_two_servers              2 ``ntp server`` lines -> 1 or 0 (by hostname hash)
    net.remote_syslog                drops the ``logging host`` line
    net.aaa_login                    drops ``aaa new-model`` / ``aaa authentication login`` /
                                     TACACS+ server; vty lines get ``login local``
    net.enable_secret                ``enable secret 9 ...`` -> ``enable password 7 <type 7>``
                                     (or ``enable password <plain>`` when net.password_encryption
                                     is violated too); the password is the real enable secret
    net.password_encryption          ``service password-encryption`` ->
                                     ``no service password-encryption`` (only that: a local
                                     ``username ... password 0`` would also break
                                     net.enable_secret, which checks users for ``secret``)
    net.http_mgmt_off                ``no ip http server`` -> ``ip http server`` (with
                                     ``ip http access-class ipv4 MGMT-ACL`` unless net.vty_acl
                                     is violated too, so the web server stays source-filtered)
    net.vty_acl                      drops ``access-class MGMT-ACL in`` on the vty lines
    net.exec_timeout                 vty ``exec-timeout 10 0`` -> ``30 0`` or ``0 0`` (hash)
    net.fw_default_deny              (is_firewall only) WAN-IN ACL's final
                                     ``deny ip any any log`` -> ``permit ip any any``
    ================================ ====================================================

FortiOS (``fortios_config``)
    ================================ ====================================================
    net.telnet_off                   ``telnet`` added to the mgmt interface ``set allowaccess``
                                     and ``set admin-telnet disable`` -> ``enable``
    net.ssh_v2_only                  ``set admin-ssh-v1 disable`` -> ``enable``
    net.snmp_v3_only                 adds ``config system snmp community`` with a private name
    net.snmp_no_default_community    adds a community named ``public``
    net.ntp_two_servers              2 custom ntp servers -> 1, or ``set ntpsync disable``
    net.remote_syslog                ``config log syslogd setting`` ``set status disable``
    net.aaa_login                    the admin account has no ``set password`` (factory
                                     default: empty password)
    net.password_encryption          the ``config user local`` entry's ``set passwd ENC ...``
                                     -> ``set passwd <plaintext>`` (a real FortiGate never
                                     prints this; it stands for a hand-edited config)
    net.http_mgmt_off                ``http`` added to the mgmt interface ``set allowaccess``
                                     (``https`` is allowed in the hardened form)
    net.vty_acl                      drops ``set trusthost1`` from the admins
    net.exec_timeout                 ``set admintimeout 10`` -> ``30`` or ``480`` (hash)
    net.fw_default_deny              adds an any/any/ALL ``set action accept`` policy
                                     ("temp-allow-all") before the final ``deny-all`` policy
    ================================ ====================================================

Not applicable to FortiOS (``ValueError`` if asked): net.enable_secret (no enable mode) and
net.snmp_no_rw_community (FortiOS SNMP is read-only). ``applicable_rules()`` tells which ids a
platform can carry; net.fw_default_deny needs ``is_firewall`` on Cisco.

The rule semantics follow compliance/configparse.py + compliance/checks/network.py (e.g. FortiOS
net.aaa_login = every admin has a password; net.http_mgmt_off allows HTTPS); the unit tests run
that checker over every single-violation config.

Overlaps: a ``public`` community and a read-write community are v1/v2c communities, so
net.snmp_no_default_community and net.snmp_no_rw_community also trip net.snmp_v3_only.
``implied_violations()`` returns the full set a correct checker finds. No other rule implies
another: each insecure form is minimal.

Randomness: none. Variants (ntp 0 vs 1 server, exec-timeout 0 vs 30, ...) are picked from a
CRC32 of the hostname, so the same inputs always give the same text.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import zlib
from collections.abc import Iterable
from types import ModuleType

from collectors.lab.platform_configs import aruba_osswitch, huawei_vrp, juniper_junos, paloalto_panos
from collectors.lab.spec import NETWORK_CONFIG_RULES

CISCO_PLATFORM = "cisco_ios"
FORTINET_PLATFORM = "fortinet"

FORTIOS_NOT_APPLICABLE = frozenset({"net.enable_secret", "net.snmp_no_rw_community"})

# rule -> rules its insecure form necessarily also breaks
_IMPLIES: dict[str, frozenset[str]] = {
    "net.snmp_no_default_community": frozenset({"net.snmp_v3_only"}),
    "net.snmp_no_rw_community": frozenset({"net.snmp_v3_only"}),
}


# The other platforms' generators, one module each (collectors/lab/platform_configs/).
_MODULES: dict[str, ModuleType] = {m.PLATFORM: m for m in (huawei_vrp, juniper_junos, aruba_osswitch, paloalto_panos)}
OTHER_PLATFORMS = tuple(_MODULES)


def platform_module(platform: str) -> ModuleType:
    """The generator module of a platform other than Cisco IOS and FortiOS."""
    if platform not in _MODULES:
        raise ValueError(f"unknown platform {platform!r}")
    return _MODULES[platform]


def applicable_rules(platform: str, *, is_firewall: bool) -> frozenset[str]:
    """Rule ids a device of this platform can be made to violate."""
    if platform in OTHER_PLATFORMS:
        return platform_module(platform).applicable_rules(is_firewall=is_firewall)
    rules = set(NETWORK_CONFIG_RULES)
    if platform == FORTINET_PLATFORM:
        rules -= FORTIOS_NOT_APPLICABLE
    elif platform != CISCO_PLATFORM:
        raise ValueError(f"unknown platform {platform!r}")
    if not is_firewall:
        rules.discard("net.fw_default_deny")
    return frozenset(rules)


def implied_violations(violations: Iterable[str], platform: str = CISCO_PLATFORM) -> frozenset[str]:
    """The full set of rule ids a checker finds in a config built with ``violations``."""
    if platform in OTHER_PLATFORMS:
        return platform_module(platform).implied_violations(violations)
    found = set(violations)
    for rule in list(found):
        found |= _IMPLIES.get(rule, frozenset())
    return frozenset(found)


def _check(violations: Iterable[str], platform: str, is_firewall: bool) -> frozenset[str]:
    violations = frozenset(violations)
    unknown = violations - set(NETWORK_CONFIG_RULES)
    if unknown:
        raise ValueError(f"unknown rule ids: {sorted(unknown)}")
    na = violations - applicable_rules(platform, is_firewall=is_firewall)
    if na:
        raise ValueError(f"rules not applicable to {platform} (firewall={is_firewall}): {sorted(na)}")
    return violations


def _h(hostname: str, salt: str = "") -> int:
    return zlib.crc32(f"{salt}:{hostname}".encode())


def _hosts(mgmt_subnet: str) -> list[str]:
    net = ipaddress.ip_network(mgmt_subnet, strict=False)
    if net.num_addresses < 16:
        raise ValueError(f"mgmt_subnet {mgmt_subnet} too small (need /28 or larger)")
    return [str(net.network_address + i) for i in range(0, 16)]


def _wildcard(mgmt_subnet: str) -> tuple[str, str, str]:
    net = ipaddress.ip_network(mgmt_subnet, strict=False)
    return str(net.network_address), str(net.hostmask), str(net.netmask)


def _device_ip(hostname: str, mgmt_subnet: str) -> str:
    net = ipaddress.ip_network(mgmt_subnet, strict=False)
    span = max(net.num_addresses - 2 - 20, 1)
    return str(net.network_address + 20 + _h(hostname, "ip") % span)


_CISCO_B64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _cisco_b64(data: bytes) -> str:
    std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return base64.b64encode(data).decode().rstrip("=").translate(str.maketrans(std, _CISCO_B64))


def type9_hash(password: str, salt_seed: str) -> str:
    """A string in Cisco type 9 format ($9$<14-char salt>$<43-char hash>).

    Format-faithful but not a real scrypt: the lab never verifies it.
    """
    salt = _cisco_b64(hashlib.sha256(f"salt:{salt_seed}".encode()).digest())[:14]
    digest = _cisco_b64(hashlib.sha256(f"{salt}:{password}".encode()).digest())[:43]
    return f"$9${salt}${digest}"


_TYPE7_KEY = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"


def type7_encode(password: str, seed: int = 2) -> str:
    """Cisco type 7 (reversible Vigenere) encoding, as ``service password-encryption`` shows."""
    salt = seed % 16
    return f"{salt:02d}" + "".join(f"{ord(ch) ^ ord(_TYPE7_KEY[(salt + i) % len(_TYPE7_KEY)]):02X}" for i, ch in enumerate(password))


def type7_decode(encoded: str) -> str:
    salt = int(encoded[:2])
    data = bytes.fromhex(encoded[2:])
    return "".join(chr(b ^ ord(_TYPE7_KEY[(salt + i) % len(_TYPE7_KEY)])) for i, b in enumerate(data))


def default_enable_secret(hostname: str) -> str:
    return f"En-{_h(hostname, 'enable'):08x}"


def cisco_ios_config(
    hostname: str,
    violations: frozenset[str],
    *,
    is_firewall: bool = False,
    mgmt_subnet: str = "10.0.0.0/24",
    os_version: str = "15.2(7)E8",
    username: str = "admin",
    enable_secret: str | None = None,
    domain: str = "lab.kiemke.lan",
    access_ports: int = 8,
) -> str:
    """A Cisco IOS ``show running-config`` body (from ``version`` to ``end``)."""
    v = _check(violations, CISCO_PLATFORM, is_firewall)
    secret = enable_secret if enable_secret is not None else default_enable_secret(hostname)
    hosts = _hosts(mgmt_subnet)
    gateway, ntp1, ntp2, syslog, tacacs = hosts[1], hosts[2], hosts[3], hosts[4], hosts[5]
    net_addr, wildcard, netmask = _wildcard(mgmt_subnet)
    my_ip = _device_ip(hostname, mgmt_subnet)
    seed = _h(hostname)
    major = ".".join(os_version.split(".")[:2]).split("(")[0]
    pw_enc = "net.password_encryption" not in v

    L: list[str] = []  # noqa: N806 (L: the config's line list, read as a verb)
    a = L.append
    a("!")
    a(f"version {major}")
    a("no service pad")
    a("service timestamps debug datetime msec localtime show-timezone")
    a("service timestamps log datetime msec localtime show-timezone")
    a("service password-encryption" if pw_enc else "no service password-encryption")
    a("service sequence-numbers")
    a("!")
    a(f"hostname {hostname}")
    a("!")
    a("boot-start-marker")
    a("boot-end-marker")
    a("!")
    a("logging buffered 32768 informational")
    a("no logging console")
    if "net.enable_secret" in v:
        a(f"enable password 7 {type7_encode(secret, seed)}" if pw_enc else f"enable password {secret}")
    else:
        a(f"enable secret 9 {type9_hash(secret, hostname + ':enable')}")
    a("!")
    a(f"username {username} privilege 15 secret 9 {type9_hash(username, hostname + ':user')}")
    if "net.aaa_login" not in v:
        a("aaa new-model")
        a("!")
        a("!")
        a("aaa group server tacacs+ TACACS-GROUP")
        a(" server name TACACS-1")
        a("!")
        a("aaa authentication login default group TACACS-GROUP local")
        a("aaa authentication enable default group TACACS-GROUP enable")
        a("aaa authorization exec default group TACACS-GROUP local if-authenticated")
        a("aaa accounting exec default start-stop group TACACS-GROUP")
        a("aaa accounting commands 15 default start-stop group TACACS-GROUP")
        a("!")
        a("aaa session-id common")
    else:
        a("no aaa new-model")
    a("clock timezone ICT 7 0")
    a("system mtu routing 1500")
    a("!")
    a("no ip source-route")
    a("no ip gratuitous-arps")
    a("!")
    a(f"ip domain-name {domain}")
    a("no ip domain-lookup")
    a("login block-for 120 attempts 5 within 60")
    a("login on-failure log")
    a("login on-success log")
    a("!")
    a(f"crypto pki trustpoint TP-self-signed-{seed}")
    a(" enrollment selfsigned")
    a(f" subject-name cn=IOS-Self-Signed-Certificate-{seed}")
    a(" revocation-check none")
    a(f" rsakeypair TP-self-signed-{seed}")
    a("!")
    a("spanning-tree mode rapid-pvst")
    a("spanning-tree portfast bpduguard default")
    a("spanning-tree extend system-id")
    a("!")
    a("vlan internal allocation policy ascending")
    a("!")
    a("vlan 10")
    a(" name MGMT")
    a("!")
    a("vlan 20")
    a(" name USERS")
    a("!")
    if "net.ssh_v2_only" in v:
        if seed % 2:
            a("ip ssh version 1")
    else:
        a("ip ssh version 2")
    a("ip ssh time-out 60")
    a("ip ssh authentication-retries 3")
    a("ip ssh source-interface Vlan10")
    a("!")
    if is_firewall:
        a("interface GigabitEthernet0/0/0")
        a(" description WAN - Party WAN uplink")
        a(f" ip address 172.16.{seed % 250}.2 255.255.255.252")
        a(" ip access-group WAN-IN in")
        a(" no ip redirects")
        a(" no ip unreachables")
        a(" no ip proxy-arp")
        a(" no cdp enable")
        a("!")
        a("interface GigabitEthernet0/0/1")
        a(" description LAN")
        a(f" ip address {my_ip} {netmask}")
        a(" no ip redirects")
        a(" no ip proxy-arp")
        a("!")
    else:
        for port in range(1, access_ports + 1):
            a(f"interface GigabitEthernet1/0/{port}")
            a(" description USER")
            a(" switchport access vlan 20")
            a(" switchport mode access")
            a(" switchport nonegotiate")
            a(" switchport port-security maximum 2")
            a(" switchport port-security")
            a(" spanning-tree portfast")
            a("!")
        a(f"interface GigabitEthernet1/0/{access_ports + 1}")
        a(" description UPLINK")
        a(" switchport trunk allowed vlan 10,20")
        a(" switchport mode trunk")
        a(" switchport nonegotiate")
        a("!")
        a("interface Vlan1")
        a(" no ip address")
        a(" shutdown")
        a("!")
        a("interface Vlan10")
        a(" description MGMT")
        a(f" ip address {my_ip} {netmask}")
        a(" no ip redirects")
        a(" no ip proxy-arp")
        a("!")
        a(f"ip default-gateway {gateway}")
    if "net.http_mgmt_off" in v:
        a("ip http server")
    else:
        a("no ip http server")
    a("no ip http secure-server")
    if "net.http_mgmt_off" in v and "net.vty_acl" not in v:
        a("ip http access-class ipv4 MGMT-ACL")  # else the web server is a second open mgmt path
    a("!")
    a("ip access-list standard MGMT-ACL")
    a(f" permit {net_addr} {wildcard}")
    a(" deny   any log")
    if is_firewall:
        a("ip access-list extended WAN-IN")
        a(" permit tcp any any established")
        a(" permit icmp any any echo-reply")
        a(" permit udp any eq domain any")
        a(" permit udp any eq ntp any")
        a(" permit esp any any")
        a(" permit udp any any eq isakmp")
        if "net.fw_default_deny" in v:
            a(" permit ip any any")
        else:
            a(" deny   ip any any log")
    a("!")
    a("logging trap informational")
    a("logging source-interface Vlan10" if not is_firewall else "logging source-interface GigabitEthernet0/0/1")
    if "net.remote_syslog" not in v:
        a(f"logging host {syslog}")
    a("!")
    communities: list[str] = []
    if "net.snmp_v3_only" in v:
        communities.append(f"snmp-server community Kk{seed % 100000:05d}ro RO MGMT-ACL")
    if "net.snmp_no_default_community" in v:
        communities.append("snmp-server community public RO MGMT-ACL")  # source-filtered: only the name is weak
    if "net.snmp_no_rw_community" in v:
        communities.append(f"snmp-server community Kk{seed % 100000:05d}rw RW MGMT-ACL")
    L.extend(communities)
    a("snmp-server group KIEMKE-RO v3 priv read KIEMKE-VIEW access MGMT-ACL")
    a("snmp-server view KIEMKE-VIEW iso included")
    a(f"snmp-server location {hostname}")
    a("snmp-server contact Phong CDS-CY")
    a("snmp-server enable traps snmp authentication linkdown linkup coldstart warmstart")
    a(f"snmp-server host {syslog} version 3 priv KIEMKE-TRAP")
    a("!")
    if "net.aaa_login" not in v:
        a("tacacs server TACACS-1")
        a(f" address ipv4 {tacacs}")
        a(f" key 7 {type7_encode('Tacacs-' + hostname[-4:], seed + 1)}")
        a("!")
    a("banner login ^C")
    a("Authorised access only. Truy cap trai phep se bi xu ly theo quy dinh.")
    a("^C")
    a("!")
    a("line con 0")
    a(" exec-timeout 5 0")
    a(" logging synchronous")
    if "net.aaa_login" in v:
        a(" login local")
    a(" stopbits 1")
    for first, last in ((0, 4), (5, 15)):
        a(f"line vty {first} {last}")
        if "net.vty_acl" not in v:
            a(" access-class MGMT-ACL in")
        if "net.exec_timeout" in v:
            a(" exec-timeout 0 0" if seed % 2 else " exec-timeout 30 0")
        else:
            a(" exec-timeout 10 0")
        a(" logging synchronous")
        if "net.aaa_login" in v:
            a(" login local")
        a(" transport input telnet ssh" if "net.telnet_off" in v else " transport input ssh")
        a(" transport output none")
    a("!")
    a(f"ntp source {'Vlan10' if not is_firewall else 'GigabitEthernet0/0/1'}")
    if "net.ntp_two_servers" in v:
        if seed % 2:
            a(f"ntp server {ntp1}")
    else:
        a(f"ntp server {ntp1} prefer")
        a(f"ntp server {ntp2}")
    a("!")
    a("end")
    return "\n".join(L) + "\n"


def cisco_ios_show_running_config(running_config: str) -> str:
    """What ``show running-config`` prints around a config body."""
    body = running_config if running_config.endswith("\n") else running_config + "\n"
    return f"Building configuration...\n\nCurrent configuration : {len(body.encode())} bytes\n{body}"


def _ios_image(model: str) -> tuple[str, str]:
    """(software family, image name) for a model number."""
    m = model.upper()
    if m.startswith("WS-C2960X"):
        return "C2960X Software", "C2960X-UNIVERSALK9-M"
    if m.startswith("WS-C2960"):
        return "C2960 Software", "C2960-LANBASEK9-M"
    if m.startswith("WS-C3850") or m.startswith("WS-C3650"):
        return "IOS-XE Software", "CAT3K_CAA-UNIVERSALK9-M"
    if m.startswith("C9"):
        return "Catalyst L3 Switch Software", "CAT9K_IOSXE"
    if m.startswith("ISR") or m.startswith("C11") or m.startswith("C8"):
        return "ISR Software", "X86_64_LINUX_IOSD-UNIVERSALK9-M"
    if m.startswith("CISCO29") or m.startswith("CISCO19"):
        return f"{m[5:9]} Software", f"C{m[5:9]}-UNIVERSALK9-M"
    return "Software", "UNIVERSALK9-M"


def _image_version(version: str) -> str:
    """'15.2(7)E8' -> '152-7.E8' as in IOS image file names."""
    return version.replace(".", "", 1).replace("(", "-").replace(")", ".").replace("..", ".")


def cisco_ios_show_version(
    hostname: str,
    model: str,
    serial: str,
    version: str,
    *,
    mac: str = "00:1a:2b:3c:4d:5e",
    uptime: str = "12 weeks, 3 days, 4 hours, 5 minutes",
) -> str:
    """``show version`` text; parses with ntc-templates ``cisco_ios_show_version``."""
    family, image = _ios_image(model)
    return (
        f"Cisco IOS Software, {family} ({image}), Version {version}, RELEASE SOFTWARE (fc1)\n"
        "Technical Support: http://www.cisco.com/techsupport\n"
        "Copyright (c) 1986-2023 by Cisco Systems, Inc.\n"
        "Compiled Thu 09-Mar-23 06:44 by mcpre\n"
        "\n"
        f"ROM: Bootstrap program is {family.split()[0]} boot loader\n"
        "\n"
        f"{hostname} uptime is {uptime}\n"
        "System returned to ROM by power-on\n"
        "System restarted at 08:12:44 ICT Mon Mar 3 2025\n"
        f'System image file is "flash:{image.lower()}z.{_image_version(version)}.bin"\n'
        "Last reload reason: power-on\n"
        "\n"
        "\n"
        "This product contains cryptographic features and is subject to United\n"
        "States and local country laws governing import, export, transfer and\n"
        "use.\n"
        "\n"
        f"cisco {model} (APM86XXX) processor (revision B0) with 524288K bytes of memory.\n"
        f"Processor board ID {serial}\n"
        "Last reset from power-on\n"
        "1 Virtual Ethernet interface\n"
        "28 Gigabit Ethernet interfaces\n"
        "The password-recovery mechanism is enabled.\n"
        "\n"
        "512K bytes of flash-simulated non-volatile configuration memory.\n"
        f"Base ethernet MAC Address       : {mac.upper()}\n"
        "Motherboard assembly number     : 73-15800-08\n"
        f"Model number                    : {model}\n"
        "\n"
        "Configuration register is 0xF\n"
    )


def cisco_ios_show_inventory(model: str, serial: str, *, descr: str | None = None) -> str:
    """``show inventory`` text; parses with ntc-templates ``cisco_ios_show_inventory``."""
    descr = descr or f"{model}"
    return (
        f'NAME: "1", DESCR: "{descr}"\n'
        f"PID: {model:<18}, VID: V05  , SN: {serial}\n"
        "\n"
        'NAME: "Switch 1 - Power Supply 0", DESCR: "Switch 1 - Power Supply 0"\n'
        "PID: PWR-C1-350WAC      , VID: V01  , SN: "
        f"DCB{zlib.crc32(serial.encode()) % 10**8:08d}\n"
        "\n"
    )


# --------------------------------------------------------------------------------------- FortiOS


def fortios_version_string(version: str, build: int | None = None) -> tuple[str, int]:
    """('v7.2.8', build) from '7.2.8' / 'v7.2.8' / 'v7.2.8,build1639'."""
    v = version.strip()
    if "," in v:
        v, rest = v.split(",", 1)
        if build is None and rest.startswith("build"):
            digits = "".join(ch for ch in rest[5:] if ch.isdigit())
            build = int(digits) if digits else None
    v = v if v.startswith("v") else f"v{v}"
    if build is None:
        build = 1000 + zlib.crc32(v.encode()) % 1000
    return v, build


def fortios_config(
    hostname: str,
    violations: frozenset[str],
    *,
    is_firewall: bool = True,
    mgmt_subnet: str = "10.0.0.0/24",
    model: str = "FortiGate-60F",
    version: str = "7.2.8",
    username: str = "admin",
    mgmt_interface: str = "internal",
) -> str:
    """A FortiOS ``show full-configuration`` (abridged to the sections that matter)."""
    v = _check(violations, FORTINET_PLATFORM, is_firewall)
    hosts = _hosts(mgmt_subnet)
    ntp1, ntp2, syslog = hosts[2], hosts[3], hosts[4]
    net_addr, _, netmask = _wildcard(mgmt_subnet)
    my_ip = _device_ip(hostname, mgmt_subnet)
    seed = _h(hostname)
    fw_ver, build = fortios_version_string(version)
    short_model = model.replace("FortiGate-", "FGT").replace("-", "")

    L: list[str] = []  # noqa: N806 (L: the config's line list, read as a verb)
    a = L.append
    a(f"#config-version={short_model}-{fw_ver[1:]}-FW-build{build}-240313:opmode=0:vdom=0:user={username}")
    a("#conf_file_ver=" + str(10**14 + seed))
    a(f"#buildno={build}")
    a("#global_vdom=1")
    a("config system global")
    a("    set admin-https-redirect enable")
    a("    set admin-lockout-duration 900")
    a("    set admin-lockout-threshold 3")
    a("    set admin-ssh-v1 " + ("enable" if "net.ssh_v2_only" in v else "disable"))
    a("    set admin-telnet " + ("enable" if "net.telnet_off" in v else "disable"))
    if "net.exec_timeout" in v:
        a("    set admintimeout " + ("480" if seed % 2 else "30"))
    else:
        a("    set admintimeout 10")
    a("    set alias " + f'"{model}"')
    a(f'    set hostname "{hostname}"')
    a("    set strong-crypto enable")
    a("    set timezone 57")
    a("end")
    a("config system accprofile")
    a('    edit "super_admin"')
    a("        set secfabgrp read-write")
    a("        set ftviewgrp read-write")
    a("        set authgrp read-write")
    a("        set sysgrp read-write")
    a("        set netgrp read-write")
    a("        set loggrp read-write")
    a("        set fwgrp read-write")
    a("        set vpngrp read-write")
    a("        set utmgrp read-write")
    a("        set wifi read-write")
    a("    next")
    a("end")
    a("config system interface")
    a('    edit "wan1"')
    a('        set vdom "root"')
    a(f"        set ip 172.16.{seed % 250}.2 255.255.255.252")
    a("        set allowaccess ping")
    a("        set type physical")
    a("        set role wan")
    a("    next")
    access = ["ping", "https", "ssh", "snmp"]
    if "net.http_mgmt_off" in v:
        access.insert(2, "http")
    if "net.telnet_off" in v:
        access.append("telnet")
    a(f'    edit "{mgmt_interface}"')
    a('        set vdom "root"')
    a(f"        set ip {my_ip} {netmask}")
    a("        set allowaccess " + " ".join(access))
    a("        set type hard-switch")
    a("        set role lan")
    a("    next")
    a("end")
    a("config system admin")
    a(f'    edit "{username}"')
    a('        set accprofile "super_admin"')
    a('        set vdom "root"')
    if "net.vty_acl" not in v:
        a(f"        set trusthost1 {net_addr} {netmask}")
    if "net.aaa_login" not in v:  # factory default: admin with an empty password
        a(f"        set password ENC SH2{hashlib.sha256(('pw:' + hostname).encode()).hexdigest()[:60]}")
    a("    next")
    a("end")
    a("config user local")
    a('    edit "vpn-guest"')
    a("        set type password")
    if "net.password_encryption" in v:
        a(f"        set passwd Guest-{seed % 10000:04d}")
    else:
        a(f"        set passwd ENC {hashlib.sha256(('gp:' + hostname).encode()).hexdigest()[:48]}")
    a("    next")
    a("end")
    a("config system ntp")
    if "net.ntp_two_servers" in v and not seed % 2:
        a("    set ntpsync disable")
    else:
        a("    set ntpsync enable")
        a("    set type custom")
        a("    set syncinterval 60")
        a("    config ntpserver")
        a("        edit 1")
        a(f'            set server "{ntp1}"')
        a("        next")
        if "net.ntp_two_servers" not in v:
            a("        edit 2")
            a(f'            set server "{ntp2}"')
            a("        next")
        a("    end")
    a("end")
    a("config system snmp sysinfo")
    a("    set status enable")
    a(f'    set description "{hostname}"')
    a(f'    set location "{hostname}"')
    a("end")
    communities: list[str] = []
    if "net.snmp_v3_only" in v:
        communities.append(f"Kk{seed % 100000:05d}ro")
    if "net.snmp_no_default_community" in v:
        communities.append("public")
    if communities:
        a("config system snmp community")
        for i, name in enumerate(communities, start=1):
            a(f"    edit {i}")
            a(f'        set name "{name}"')
            a("        config hosts")
            a("            edit 1")
            a(f"                set ip {net_addr} {netmask}")
            a("            next")
            a("        end")
            a("    next")
        a("end")
    a("config system snmp user")
    a('    edit "kiemke"')
    a(f"        set notify-hosts {syslog}")
    a("        set security-level auth-priv")
    a("        set auth-proto sha256")
    a(f"        set auth-pwd ENC {hashlib.sha256(('sa:' + hostname).encode()).hexdigest()[:40]}")
    a("        set priv-proto aes256")
    a(f"        set priv-pwd ENC {hashlib.sha256(('sp:' + hostname).encode()).hexdigest()[:40]}")
    a("    next")
    a("end")
    a("config log syslogd setting")
    if "net.remote_syslog" in v:
        a("    set status disable")
    else:
        a("    set status enable")
        a(f'    set server "{syslog}"')
        a("    set mode udp")
        a("    set port 514")
        a("    set facility local7")
    a("end")
    a("config firewall address")
    a('    edit "all"')
    a("    next")
    a('    edit "LAN-NET"')
    a(f"        set subnet {net_addr} {netmask}")
    a("    next")
    a("end")
    a("config firewall policy")
    a("    edit 1")
    a('        set name "LAN-to-WAN-web"')
    a('        set srcintf "' + mgmt_interface + '"')
    a('        set dstintf "wan1"')
    a("        set action accept")
    a('        set srcaddr "LAN-NET"')
    a('        set dstaddr "all"')
    a('        set schedule "always"')
    a('        set service "HTTPS" "DNS"')
    a("        set utm-status enable")
    a("        set logtraffic all")
    a("        set nat enable")
    a("    next")
    if "net.fw_default_deny" in v:
        a("    edit 2")
        a('        set name "temp-allow-all"')
        a('        set srcintf "any"')
        a('        set dstintf "any"')
        a("        set action accept")
        a('        set srcaddr "all"')
        a('        set dstaddr "all"')
        a('        set schedule "always"')
        a('        set service "ALL"')
        a("    next")
    a("    edit 99")
    a('        set name "deny-all"')
    a('        set srcintf "any"')
    a('        set dstintf "any"')
    a('        set srcaddr "all"')
    a('        set dstaddr "all"')
    a("        set action deny")
    a('        set schedule "always"')
    a('        set service "ALL"')
    a("        set logtraffic all")
    a("    next")
    a("end")
    return "\n".join(L) + "\n"


def fortios_get_system_status(
    hostname: str,
    model: str,
    serial: str,
    version: str,
    *,
    vdom_enabled: bool = False,
) -> str:
    """``get system status`` text (Version: <model> v<x.y.z>,build<n>,<date> (GA...))."""
    fw_ver, build = fortios_version_string(version)
    return (
        f"Version: {model} {fw_ver},build{build},240313 (GA.M)\n"
        "Security Level: 1\n"
        "Firmware Signature: certified\n"
        "Virus-DB: 92.02384(2024-03-20 16:27)\n"
        "Extended DB: 92.02384(2024-03-20 16:26)\n"
        "AV AI/ML Model: 2.14910(2024-03-20 15:39)\n"
        "IPS-DB: 27.00728(2024-03-19 02:23)\n"
        "IPS-ETDB: 0.00000(2001-01-01 00:00)\n"
        "APP-DB: 27.00728(2024-03-19 02:23)\n"
        "INDUSTRIAL-DB: 27.00728(2024-03-19 02:23)\n"
        "IPS Malicious URL Database: 4.00898(2024-03-20 12:16)\n"
        "IoT-Detect: 27.00728(2024-03-18 23:35)\n"
        f"Serial-Number: {serial}\n"
        "BIOS version: 05000009\n"
        "System Part-Number: P24281-04\n"
        "Log hard disk: Not available\n"
        f"Hostname: {hostname}\n"
        "Private Encryption: Disable\n"
        "Operation Mode: NAT\n"
        "Current virtual domain: root\n"
        "Max number of virtual domains: 10\n"
        f"Virtual domains status: 1 in NAT mode, 0 in TP mode\n"
        f"Virtual domain configuration: {'multiple' if vdom_enabled else 'disable'}\n"
        "FIPS-CC mode: disable\n"
        "Current HA mode: standalone\n"
        f"Branch point: {build}\n"
        "Release Version Information: GA\n"
        "System time: Mon Mar 24 09:15:02 2025\n"
        "Last reboot reason: warm reboot\n"
    )
