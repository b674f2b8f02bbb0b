"""The secret-bearing statements of inventory/secret_lines.py, one test each: stored configs
(inventory/redact.py) never show the secret and keep the statement's leading words readable."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from compliance.configparse import ConfigLine
from inventory.redact import mask_config
from inventory.secret_lines import MASK, mask_ios_line

# (line, secret it must not show, leading words that stay readable)
IOS_STATEMENTS = [
    (" neighbor 10.0.0.1 password 7 Sekr1t-bgp7", "Sekr1t-bgp7", "neighbor 10.0.0.1 password 7"),
    (" neighbor 10.0.0.1 password Sekr1t-bgp", "Sekr1t-bgp", "neighbor 10.0.0.1 password"),
    (" neighbor PEERS password Sekr1t bgp spaced", "Sekr1t", "neighbor PEERS password"),
    (" pre-shared-key address 10.1.1.1 key Sekr1t-keyring", "Sekr1t-keyring", "pre-shared-key address 10.1.1.1 key"),
    (" pre-shared-key address 10.1.1.0 255.255.255.0 key 6 Sekr1t-kr6", "Sekr1t-kr6", "pre-shared-key address 10.1.1.0 255.255.255.0 key 6"),
    (" pre-shared-key hostname peer.example key Sekr1t-krh", "Sekr1t-krh", "pre-shared-key hostname peer.example key"),
    (" standby 1 authentication md5 key-string Sekr1t-hsrp-md5", "Sekr1t-hsrp-md5", "standby 1 authentication md5 key-string"),
    (" standby 1 authentication md5 key-string 7 Sekr1t-hsrp7 timeout 30", "Sekr1t-hsrp7", "standby 1 authentication md5 key-string 7"),
    (" standby 1 authentication Sekr1t-hsrp", "Sekr1t-hsrp", "standby 1 authentication"),
    (" standby authentication text Sekr1t-hsrp-text", "Sekr1t-hsrp-text", "standby authentication text"),
    (" ppp chap password 0 Sekr1t-chap", "Sekr1t-chap", "ppp chap password 0"),
    (" ppp pap sent-username u password 0 Sekr1t-pap", "Sekr1t-pap", "ppp pap sent-username u password 0"),
    (" wpa-psk ascii 0 Sekr1t-wpa", "Sekr1t-wpa", "wpa-psk ascii 0"),
    ("vtp password Sekr1t-vtp", "Sekr1t-vtp", "vtp password"),
    ("ip ftp password Sekr1t-ftp", "Sekr1t-ftp", "ip ftp password"),
    ("ip http client password Sekr1t-http", "Sekr1t-http", "ip http client password"),
    ("enable algorithm-type scrypt secret Sekr1t-scrypt", "Sekr1t-scrypt", "enable algorithm-type scrypt secret"),
    ("enable algorithm-type sha256 secret Sekr1t-sha256", "Sekr1t-sha256", "enable algorithm-type sha256 secret"),
]


@pytest.mark.parametrize(("line", "secret", "kept"), IOS_STATEMENTS, ids=[s for _, s, _ in IOS_STATEMENTS])
def test_ios_secret_statement_masked(line, secret, kept) -> None:
    masked = mask_config("hostname r1\n" + line + "\n")
    assert secret not in masked
    assert masked.startswith("hostname r1\n")
    shown = masked.splitlines()[1]
    assert shown.startswith(line[: len(line) - len(line.lstrip())] + kept + " " + MASK), shown
    assert mask_ios_line(line.strip()) == shown.strip()  # evidence lines mask alike


def test_hsrp_tail_after_the_key_stays() -> None:
    assert mask_ios_line("standby 1 authentication md5 key-string 7 K timeout 30") == (f"standby 1 authentication md5 key-string 7 {MASK} timeout 30")


def test_fortios_key_string_masked() -> None:
    text = 'config router key-chain\n    edit "kc"\n        config key\n            edit 1\n                set key-string Sekr1t-fkey\n            next\n        end\n    next\nend\n'
    masked = mask_config(text)
    assert "Sekr1t-fkey" not in masked
    assert f"                set key-string {MASK}\n" in masked
    assert len(masked.splitlines()) == len(text.splitlines())


def test_fortios_multiline_private_key_masked_on_every_line() -> None:
    body = ["MIIFHzBJBgkqhkiG9w0BBQ0wPDAbSekr1tBody1", "Sekr1tBody2+/abcdefABCDEF0123456789==", "password Sekr1tBody3"]
    lines = [
        "config vpn certificate local",
        '    edit "srv"',
        "        set password ENC Sekr1tEnc",
        '        set private-key "-----BEGIN ENCRYPTED PRIVATE KEY-----',
        *body,
        "end",
        '-----END ENCRYPTED PRIVATE KEY-----"',
        '        set certificate "-----BEGIN CERTIFICATE-----',
        "MIIPublicCertBody",
        '-----END CERTIFICATE-----"',
        "        set range global",
        "    next",
        "end",
        "config system admin",
        '    edit "bob"',
        "        set password Sekr1t-admin",
        "    next",
        "end",
        "hostname-like-tail keep",
    ]
    text = "\n".join(lines) + "\n"
    masked = mask_config(text)
    for secret in ("Sekr1tBody1", "Sekr1tBody2", "Sekr1tBody3", "Sekr1tEnc", "Sekr1t-admin"):
        assert secret not in masked, secret
    out = masked.splitlines()
    assert len(out) == len(lines)
    # The armor says how the key is stored (encrypted), never what it is: it stays, so the stored
    # config is judged like the device's.
    assert out[3] == lines[3] and out[8] == lines[8]
    assert out[4:8] == [MASK] * 4  # the body and a stray `end` inside it
    # A public certificate after it stays readable; the block structure after the key is intact.
    assert out[9:12] == lines[9:12] and out[12] == "        set range global"
    assert out[17] == f"        set password {MASK}" and out[-1] == "hostname-like-tail keep"


def test_bgp_password_may_hold_spaces() -> None:
    assert mask_ios_line("neighbor PEERS password 7 two words") == f"neighbor PEERS password 7 {MASK}"


GOLDEN = Path(__file__).resolve().parents[1] / "compliance" / "golden"


def _masked_by_parser(text: str, platform: str) -> set[str]:
    """The words the platform's parser hid in its evidence lines: the config's secrets."""
    from compliance.configparse import parse_config

    raw = text.splitlines()
    found: set[str] = set()

    def walk(value) -> None:
        if isinstance(value, ConfigLine):
            if MASK in value.text and 0 < value.number <= len(raw):
                shown = value.text.split()
                found.update(w.strip('";') for w in raw[value.number - 1].split() if w not in shown and len(w.strip('";')) > 3)
        elif isinstance(value, tuple | list):
            for item in value:
                walk(item)
        elif dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name))

    walk(parse_config(text, platform))
    return found


@pytest.mark.parametrize("config", sorted(GOLDEN.glob("*/*/running-config.txt")), ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_a_stored_config_hides_every_secret_its_parser_hides(config: Path) -> None:
    """Every platform's secrets (VRP ciphers, Junos $9$/crypt strings, ArubaOS-Switch sha1 hashes,
    PAN-OS phash/authpwd, IOS and FortiOS as before) are masked in what kiemke stores too."""
    text = config.read_text(encoding="utf-8")
    secrets = _masked_by_parser(text, config.parent.parent.name)
    stored = mask_config(text)
    assert [s for s in secrets if s in stored] == []
    assert stored.count("\n") == text.count("\n")


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("local-user admin password irreversible-cipher $1a$Xq7#Lw2$Ge]u4N*Y$", "Ge]u4N"),
        ("snmp-agent community read cipher %^%#Zk3!Qm%^%#", "Zk3!Qm"),
        ('encrypted-password "$6$abc$KJHkjhKJH"; ## SECRET-DATA', "KJHkjhKJH"),
        ('set system radius-server 10.0.0.1 secret "$9$Ab1Cd2Ef3"', "Ab1Cd2Ef3"),
        ('password manager user-name "netadmin" sha1 "8c1f2e7a4b90d3c6"', "8c1f2e7a4b90d3c6"),
        ('snmpv3 user "nms" auth sha "AuthK3y" priv aes "PrivK3y"', "AuthK3y"),
        ("set mgt-config users admin phash $5$xyz$abcdefABCDEF", "abcdefABCDEF"),
        ("set deviceconfig system snmp-setting access-setting version v3 users nms01 authpwd -AQ==K8vX2pLq9", "K8vX2pLq9"),
    ],
)
def test_other_platforms_secret_lines_are_masked(line: str, secret: str) -> None:
    assert secret not in mask_config(line + "\n")


@pytest.mark.parametrize("config", sorted(GOLDEN.glob("*/*/running-config.txt")), ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_masking_a_masked_config_changes_nothing(config: Path) -> None:
    once = mask_config(config.read_text(encoding="utf-8"))
    assert mask_config(once) == once
