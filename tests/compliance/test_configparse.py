"""Unit tests of the config parsers: facts, masking, tricky syntax."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from compliance.configparse import MASK, UnsupportedPlatformError, parse_config


def test_unknown_platform() -> None:
    with pytest.raises(UnsupportedPlatformError, match="unsupported platform 'extreme_exos'"):
        parse_config("hostname x", "extreme_exos")


def test_ios_masks_secrets_and_custom_communities() -> None:
    text = "\n".join(
        [
            "enable secret 9 $9$abc$def",
            "username bob privilege 15 password 7 0822455D0A16",
            "snmp-server community S3cr3t-RO RO 10",
            "snmp-server community public RO",
            "snmp-server user nms NMSGRP v3 auth sha AuthKey123 priv aes 128 PrivKey456",
            "line vty 0 4",
            " password 7 0822455D0A16",
        ]
    )
    facts = parse_config(text, "cisco_ios")
    shown = [str(e) for e in facts.enable_secret.evidence + facts.admins[0].evidence]
    shown += [str(e) for c in facts.snmp_communities for e in c.evidence]
    shown += [str(e) for p in facts.snmp_v3 for e in p.evidence]
    assert shown == [
        f"1: enable secret 9 {MASK}",
        f"2: username bob privilege 15 password 7 {MASK}",
        f"3: snmp-server community {MASK} RO 10",
        "4: snmp-server community public RO",
        f"5: snmp-server user nms NMSGRP v3 auth sha {MASK} priv aes 128 {MASK}",
    ]
    assert [c.name for c in facts.snmp_communities] == ["S3cr3t-RO", "public"]
    assert facts.snmp_communities[0].acl == "10"
    assert facts.admins[0].secret == "reversible"
    assert facts.snmp_v3[0].security_level == "priv"


def test_ios_banner_body_is_not_parsed() -> None:
    text = "banner motd ^C\nline vty 0 4\n transport input telnet\n^C\nline vty 0 4\n transport input ssh\n"
    facts = parse_config(text, "cisco_ios")
    assert [ln.transport_input for ln in facts.terminal_lines] == [("ssh",)]
    assert facts.telnet_enabled.value is False


def test_ios_last_of_command_and_no_command_wins() -> None:
    facts = parse_config("ip http server\nno ip http server\n", "cisco_ios")
    assert facts.http_server.value is False
    assert [e.number for e in facts.http_server.evidence] == [2]


def test_ios_default_ssh_and_exec_timeout() -> None:
    facts = parse_config("line vty 0 4\n transport input ssh\n", "cisco_ios")
    assert facts.ssh_versions.value == (1, 2)
    assert [(t.minutes, t.explicit) for t in facts.session_timeouts] == [(10.0, False)]


def test_ios_extended_ace_fields() -> None:
    text = "\n".join(
        [
            "interface Gi0/0",
            " ip access-group WAN in",
            "ip access-list extended WAN",
            " 10 permit tcp host 1.1.1.1 eq 443 any",
            " 20 permit ip any any log",
            " 30 deny ip any any",
        ]
    )
    rules = parse_config(text, "cisco_ios").firewall_rules
    assert [(r.action, r.src_any, r.dst_any, r.service_any) for r in rules] == [
        ("accept", False, True, False),
        ("accept", True, True, True),
        ("deny", True, True, True),
    ]
    assert [r.allows_everything for r in rules] == [False, True, False]


def test_fortios_multiline_value_and_plaintext_secret() -> None:
    text = "\n".join(
        [
            'config system replacemsg admin "pre_admin-disclaimer-text"',
            '    set buffer "line one',
            "set password should-not-count",
            'end of text"',
            "end",
            "config user local",
            '    edit "u1"',
            '        set passwd "Plain@123"',
            "    next",
            "end",
        ]
    )
    facts = parse_config(text, "fortinet")
    assert facts.password_encryption.value is False
    assert [str(e) for e in facts.password_encryption.evidence] == [f"8: set passwd {MASK}"]


def test_fortios_version_and_defaults() -> None:
    text = "#config-version=FGT60F-7.2.8-FW-build1639-240313:opmode=0\nconfig system global\nend\n"
    facts = parse_config(text, "fortinet")
    assert facts.os_version.value == "7.2.8"
    assert facts.session_timeouts[0].minutes == 5 and not facts.session_timeouts[0].explicit
    assert facts.enable_secret.value is None
    assert facts.ntp_servers.value == ()


SECRET_LINES = {  # line -> the secret it must not show
    "snmp-server host 10.9.9.9 version 2c Tr4pC0mm": "Tr4pC0mm",
    "snmp-server host 10.9.9.8 vrf MGMT informs version 2c Vrf7rap": "Vrf7rap",
    "radius-server host 10.1.1.1 key 7 R4d1usK3y": "R4d1usK3y",
    "radius-server host 10.1.1.2 auth-port 1812 acct-port 1813 key 7 P0rtsK3y": "P0rtsK3y",
    " server-private 10.2.2.2 key 7 Pr1vSrvK3y": "Pr1vSrvK3y",
    " key-string 7 K3yStr1ng": "K3yStr1ng",
    "crypto isakmp key Pr3Shared address 0.0.0.0": "Pr3Shared",
    " ip ospf message-digest-key 1 md5 Osp5Key": "Osp5Key",
}


@pytest.mark.parametrize(("line", "secret"), SECRET_LINES.items())
def test_evidence_and_stored_configs_mask_alike(line, secret) -> None:
    """One rule set (inventory/secret_lines.py) masks the parsers' evidence and stored configs."""
    from compliance.configparse.ios import _IosNode
    from inventory.redact import mask_config

    evidence = _IosNode(1, line.strip()).line.text
    stored = mask_config(line + "\n").strip()
    assert secret not in evidence and MASK in evidence
    assert evidence == stored


def test_every_secret_fortios_encrypts_is_masked_in_evidence() -> None:
    from compliance.configparse.fortios import _ENCRYPTED_SECRET_KEYS, _forti_tree
    from inventory.secret_lines import is_forti_secret_key

    assert all(is_forti_secret_key(key) for key in _ENCRYPTED_SECRET_KEYS)
    text = 'config system admin\n    edit "bob"\n        set password Pl41nText\n        set md5-key Md5S3cret\n    next\nend\n'
    facts = parse_config(text, "fortinet")
    assert [str(e) for e in facts.password_encryption.evidence] == [f"3: set password {MASK}"]
    admin = next(n for n in _forti_tree(text).secret_nodes)
    assert admin.set_line("md5-key").text == f"set md5-key {MASK}"


# --- Lines the parsers don't understand never make them raise (issue 11) ---------------------

GOLDEN = Path(__file__).parent / "golden"


def _outcomes(text: str, platform: str) -> dict:
    from compliance.configcheck import check_config_text
    from compliance.policy import load_policy

    return {o.rule_id: o for o in check_config_text(text, platform, load_policy(), "firewall")}


def test_ios_bare_snmp_community_is_no_community() -> None:
    facts = parse_config("snmp-server community\nsnmp-server community public RO\n", "cisco_ios")
    assert [c.name for c in facts.snmp_communities] == ["public"]


def test_ios_bare_username_is_no_account() -> None:
    facts = parse_config("username\nusername bob privilege\n", "cisco_ios")
    assert [(a.name, a.profile) for a in facts.admins] == [("bob", None)]


@pytest.mark.parametrize(
    "acl",
    [
        "ip access-list extended WAN\n permit",
        "ip access-list extended WAN\n 10 permit",
        "ip access-list extended WAN\n 10",
        "ip access-list standard WAN\n permit",
        "access-list WAN permit",
        "access-list 10 permit",
        "access-list 101 permit",
    ],
)
def test_ios_one_word_ace_fails_closed(acl: str) -> None:
    name = acl.split()[1] if acl.startswith("access-list") else "WAN"
    text = f"interface Gi0/0\n ip access-group {name} in\n{acl}\n"
    facts = parse_config(text, "cisco_ios")
    assert len(facts.firewall_rules) == 1
    if facts.firewall_rules[0].action == "accept":
        assert facts.firewall_rules[0].allows_everything
        assert _outcomes(text, "cisco_ios")["net.fw_default_deny"].passed is False


@pytest.mark.parametrize("line", ["ip access-list", "ip access-list extended", "ip access-list standard"])
def test_ios_acl_without_name_is_skipped(line: str) -> None:
    facts = parse_config(f"interface Gi0/0\n ip access-group extended in\n{line}\n 10 permit ip any any\n", "cisco_ios")
    assert facts.firewall_rules == ()


@pytest.mark.parametrize("value", ["x", "5 x", "٥", "+5", "-5"])
def test_ios_invalid_exec_timeout_fails_closed(value: str) -> None:
    text = f"line con 0\n exec-timeout 5 0\nline vty 0 4\n exec-timeout {value}\n transport input ssh\n"
    facts = parse_config(text, "cisco_ios")
    assert math.isnan(facts.session_timeouts[1].minutes)
    outcome = _outcomes(text, "cisco_ios")["net.exec_timeout"]
    assert outcome.passed is False
    assert "line vty 0 4: invalid value" in outcome.actual


@pytest.mark.parametrize("value", ["", "x", "٢"])
def test_ios_invalid_ssh_version_keeps_the_default(value: str) -> None:
    facts = parse_config(f"ip ssh version {value}\n", "cisco_ios")
    assert facts.ssh_versions.value == (1, 2)


@pytest.mark.parametrize("value", ["nan", "inf", "-5", "1e9", "5.0", "+5", "٥", "abc", ""])
def test_fortios_admintimeout_not_a_plain_integer_fails(value: str) -> None:
    text = f"config system global\n    set admintimeout {value}\nend\n"
    (timeout,) = parse_config(text, "fortinet").session_timeouts
    assert timeout.explicit and math.isnan(timeout.minutes)
    outcome = _outcomes(text, "fortinet")["net.exec_timeout"]
    assert outcome.passed is False
    assert outcome.actual == "system global admintimeout: invalid value"


def test_fortios_admintimeout_plain_integer_passes() -> None:
    text = "config system global\n    set admintimeout 10\nend\n"
    assert parse_config(text, "fortinet").session_timeouts[0].minutes == 10
    assert _outcomes(text, "fortinet")["net.exec_timeout"].passed is True


@pytest.mark.parametrize(
    "case",
    sorted(GOLDEN.glob("*/*/running-config.txt")),
    ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}",
)
def test_truncated_golden_lines_never_raise(case: Path) -> None:
    """Every line of a golden config cut to its first k words: the whole config still parses."""
    platform = case.parent.parent.name
    lines = case.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        indent = line[: len(line) - len(line.lstrip())]
        words = line.split()
        for k in range(len(words)):
            cut = [*lines[:i], indent + " ".join(words[:k]), *lines[i + 1 :]]
            parse_config("\n".join(cut), platform)


def test_ios_notification_targets_logging_off_and_repeated_ntp_servers() -> None:
    """A v1/v2c `snmp-server host` names a community (v3 targets name a user); `no logging on`
    sends nothing to any listed host; the same NTP server twice (once per VRF) is one server."""
    from compliance.configcheck import check_config_facts
    from compliance.policy import load_policy

    text = (
        "hostname r1\nsnmp-server group NMS v3 priv\nsnmp-server host 10.0.0.5 version 2c public\n"
        "snmp-server host 10.0.0.6 traps version 3 priv nmsuser\nsnmp-server host 10.0.0.7 vrf M informs Tr4pOnly\n"
        "logging host 10.0.0.9\nlogging host 10.0.0.10\nno logging on\n"
        "ntp server 10.1.1.1\nntp server vrf MGMT 10.1.1.1\nline vty 0 4\n transport input ssh\n"
    )
    facts = parse_config(text, "cisco_ios")
    assert [(c.name, c.evidence[0].number) for c in facts.snmp_communities] == [("public", 3), ("Tr4pOnly", 5)]
    assert "Tr4pOnly" not in repr(facts.snmp_communities[1].evidence)
    assert facts.syslog_hosts.value == () and facts.syslog_hosts.evidence[0].text == "no logging on"
    outcomes = {o.rule_id: o for o in check_config_facts(facts, load_policy(), "router")}
    assert outcomes["net.snmp_v3_only"].passed is False and outcomes["net.snmp_no_default_community"].passed is False
    assert outcomes["net.remote_syslog"].passed is False
    assert outcomes["net.ntp_two_servers"].passed is False and outcomes["net.ntp_two_servers"].actual == "1 NTP server(s): 10.1.1.1"


def test_an_ios_user_without_a_password_fails_the_credentials_rule() -> None:
    from compliance.configcheck import check_config_facts
    from compliance.policy import load_policy

    text = "hostname r1\nenable secret 9 $9$abc$def\nusername guest nopassword\nusername ops privilege 15 secret 9 $9$x$y\nline vty 0 4\n"
    facts = parse_config(text, "cisco_ios")
    assert [(u.name, u.secret) for u in facts.admins] == [("guest", "none"), ("ops", "hashed")]
    (outcome,) = [o for o in check_config_facts(facts, load_policy(), "router") if o.rule_id == "net.enable_secret"]
    assert outcome.passed is False and outcome.actual == "user guest has no password" and outcome.evidence == ["2: enable secret 9 <redacted>", "3: username guest nopassword"]


def test_an_ios_config_pasted_with_an_indent_reads_as_typed() -> None:
    golden = Path(__file__).parent / "golden" / "cisco_ios" / "hardened_isr" / "running-config.txt"
    text = golden.read_text(encoding="utf-8")
    indented = "\n".join((" " + line) if line else line for line in text.splitlines())
    plain, shifted = parse_config(text, "cisco_ios"), parse_config(indented, "cisco_ios")
    assert shifted == plain  # same facts, same line numbers; evidence is shown without indentation
    assert plain.hostname.value and plain.terminal_lines


def test_line_console_is_the_console_line() -> None:
    facts = parse_config("hostname r1\nline console 0\n exec-timeout 0 0\nline vty 0 4\n exec-timeout 5 0\n", "cisco_ios")
    assert [(t.name, t.minutes) for t in facts.session_timeouts] == [("line console 0", 0.0), ("line vty 0 4", 5.0)]


@pytest.mark.parametrize(
    ("acl", "restricted", "detail"),
    [
        ("access-list 10 permit 10.20.99.0 0.0.0.255\n", True, "access-class 10 in"),
        ("access-list 10 permit 10.20.99.0 0.0.0.255\naccess-list 10 permit any\n", False, "access-class 10 in, which permits any source"),
        ("ip access-list extended 10\n permit tcp any any eq 22\n", False, "access-class 10 in, which permits any source"),
        ("", False, "access-class 10 in, an ACL that is not defined"),
    ],
)
def test_a_vty_access_class_restricts_by_its_content(acl: str, restricted: bool, detail: str) -> None:
    facts = parse_config(f"hostname r1\n{acl}line vty 0 4\n access-class 10 in\n transport input ssh\n", "cisco_ios")
    (vty,) = facts.mgmt_access
    assert (vty.restricted, vty.detail) == (restricted, detail)
    if "any" in acl:
        assert any("any" in e.text for e in vty.evidence)  # the entry that opens it is cited


def test_fortios_encrypted_key_material_is_not_plaintext_but_a_password_in_a_script_is() -> None:
    """Every FortiGate backup carries certificate keys encrypted by their own format; they are
    not plaintext secrets. A password typed in clear into an auto-script is one, and neither the
    evidence nor the stored config shows it."""
    import base64

    from inventory.redact import mask_config

    def openssh(cipher: bytes) -> str:
        header = b"openssh-key-v1\x00" + len(cipher).to_bytes(4, "big") + cipher + b"\x00" * 40
        return "-----BEGIN OPENSSH PRIVATE KEY-----\n" + base64.b64encode(header).decode() + "\n-----END OPENSSH PRIVATE KEY-----"

    def config(private_key: str, script: str = "") -> str:
        text = 'config system global\n    set hostname fw\nend\nconfig vpn certificate local\n    edit "k"\n'
        text += f'        set private-key "{private_key}"\n    next\nend\n'
        if script:
            text += f'config system auto-script\n    edit "backup"\n        set script "{script}"\n    next\nend\n'
        return text

    pkcs8 = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBWBgkqhkiG9w0BBQ0w\n-----END ENCRYPTED PRIVATE KEY-----"
    legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nMIIE\n-----END RSA PRIVATE KEY-----"
    for key in (pkcs8, legacy, openssh(b"aes256-ctr")):
        assert parse_config(config(key), "fortinet").password_encryption.value is True
    for key in (openssh(b"none"), "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"):
        assert parse_config(config(key), "fortinet").password_encryption.value is False
    script = "config system admin\n    edit backup\n        set password Cl3arT3xt\n    next\nend"
    facts = parse_config(config(pkcs8, script), "fortinet")
    assert facts.password_encryption.value is False
    assert [e.text for e in facts.password_encryption.evidence] == [f"set script {MASK}"]
    assert "Cl3arT3xt" not in repr(facts) and "Cl3arT3xt" not in mask_config(config(pkcs8, script))


def test_a_fortios_admin_with_one_any_address_trusthost_is_open_to_every_address() -> None:
    text = (
        'config system global\n    set hostname fw\nend\nconfig system admin\n    edit "ops"\n'
        "        set trusthost1 10.99.0.0 255.255.255.0\n        set trusthost2 0.0.0.0 0.0.0.0\n        set password ENC x\n    next\n"
        '    edit "noc"\n        set trusthost1 10.99.0.0 255.255.255.0\n        set ip6-trusthost1 ::/0\n        set password ENC y\n    next\n'
        '    edit "lab"\n        set trusthost1 10.99.0.0 255.255.255.0\n        set password ENC z\n    next\nend\n'
    )
    access = {m.name: (m.restricted, m.detail) for m in parse_config(text, "fortinet").mgmt_access}
    assert access == {
        "admin ops": (False, "any address (trusthost2)"),
        "admin noc": (False, "any address (ip6-trusthost1)"),
        "admin lab": (True, "10.99.0.0 255.255.255.0"),
    }


def test_fortios_ipv6_accept_all_voids_the_default_deny() -> None:
    from compliance.configcheck import check_config_facts
    from compliance.policy import load_policy

    head = "config system global\n    set hostname fw\nend\n"
    v4 = 'config firewall policy\n    edit 1\n        set srcaddr "LAN"\n        set dstaddr "all"\n        set action accept\n        set service "HTTPS"\n    next\nend\n'
    policy6 = 'config firewall policy6\n    edit 7\n        set srcaddr "all"\n        set dstaddr "all"\n        set action accept\n        set service "ALL"\n    next\nend\n'
    consolidated = 'config firewall policy\n    edit 9\n        set srcaddr6 "all"\n        set dstaddr6 "all"\n        set action accept\n        set service "ALL"\n    next\nend\n'
    policy = load_policy()
    for text, passed in ((head + v4, True), (head + v4 + policy6, False), (head + consolidated, False)):
        (outcome,) = [o for o in check_config_facts(parse_config(text, "fortinet"), policy, "firewall") if o.rule_id == "net.fw_default_deny"]
        assert outcome.passed is passed, (text, outcome.actual)


@pytest.mark.parametrize("counts", [False, True])
def test_fortiguard_ntp_counts_only_where_the_policy_says_so(counts: bool) -> None:
    from compliance.checks.network import ntp_two_servers

    text = "config system global\n    set hostname fw\nend\nconfig system ntp\n    set ntpsync enable\n    set type fortiguard\nend\n"
    facts = parse_config(text, "fortinet")
    result = ntp_two_servers(facts, {"min_servers": 2, "fortiguard_counts": counts})
    assert result.passed is counts
    assert result.actual == ("FortiGuard NTP (counted by the policy)" if counts else "FortiGuard NTP (not counted by the policy)")
    assert result.evidence == ["4: config system ntp", "5: set ntpsync enable", "6: set type fortiguard"]


def test_sd_wan_ios_xe_runs_aaa_without_aaa_new_model() -> None:
    base = "hostname e1\naaa authentication login default local\nline vty 0 4\n transport input ssh\n"
    assert parse_config(base, "cisco_ios").aaa_new_model.value is False
    sdwan = parse_config("system\n system-ip 192.168.11.1\n" + base + "sdwan\n interface GigabitEthernet1\n", "cisco_ios")
    assert sdwan.aaa_new_model.value is True and [e.text for e in sdwan.aaa_new_model.evidence] == ["sdwan"]
    assert sdwan.aaa_login.value is True  # the vty lines use the defined default list


def test_fortios_abbreviated_section_names_are_the_sections() -> None:
    full = (
        "config system global\n    set hostname fw\n    set admintimeout 5\nend\nconfig system ntp\n    set ntpsync enable\n"
        "    set type custom\n    config ntpserver\n        edit 1\n            set server 10.0.0.1\n        next\n"
        "        edit 2\n            set server 10.0.0.2\n        next\n    end\nend\n"
    )
    short = full.replace("config system global", "config sys glo").replace("config system ntp", "config sys ntp").replace("config ntpserver", "config ntps")
    a, b = parse_config(full, "fortinet"), parse_config(short, "fortinet")
    assert (b.hostname.value, b.ntp_servers.value, b.session_timeouts[0].minutes) == ("fw", ("10.0.0.1", "10.0.0.2"), 5.0)
    assert (a.hostname.value, a.ntp_servers.value) == (b.hostname.value, b.ntp_servers.value)
    assert [u for u in b.unreadable] == []  # not taken for a fragment
