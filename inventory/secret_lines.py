"""Which config lines carry secrets, and those lines masked: one set of rules for the parsers'
evidence lines (compliance/configparse) and for whole stored configs (inventory/redact.py).
It sits in inventory, the lowest layer, because collectors (which store configs masked) and
compliance (which shows evidence lines) both use it. When in doubt, mask."""

from __future__ import annotations

import re

# Community names shown as-is in evidence; any other community is a secret and is masked.
WELL_KNOWN_COMMUNITIES = frozenset({"public", "private"})
MASK = "<redacted>"

# Cisco IOS: each pattern keeps the words before the secret (group 1) and masks the next word.
_IOS_SECRETS = (
    re.compile(r"^(enable (?:secret|password)(?: level \d+)?(?: \d)?) \S+"),
    re.compile(r"^(username \S+ .*?(?:secret|password)(?: \d)?) \S+"),
    re.compile(r"^((?:password|key|key-string|secret)(?: \d)?) \S+"),
    re.compile(r"^((?:tacacs-server|radius-server) (?:host \S+ )?key(?: \d)?) \S+"),
    re.compile(r"^(ntp authentication-key \d+ md5) \S+"),
    re.compile(r"^(crypto isakmp key(?: \d)?) \S+"),
    re.compile(r"^(.*\b(?:pre-shared-key|authentication-key|md5)(?: \d)?) \S+"),
)
_IOS_SNMP_KEYS = re.compile(r"\b((?:auth (?:md5|sha\S*))|(?:priv (?:des|3des|aes(?: \d+)?))) \S+")
_IOS_COMMUNITY = re.compile(r"^(snmp-server community)\s+(\S+)")
_IOS_HOST_COMMUNITY = re.compile(r"^(snmp-server host \S+(?: (?:traps|informs))?(?: version (?:1|2c|3 \S+))?) (\S+)")

# FortiOS: `set <key> <value>` lines whose value is a secret.
FORTI_SECRET_KEYS = frozenset(
    {"password", "passwd", "psksecret", "auth-pwd", "priv-pwd", "key", "secret", "private-key", "passphrase",
     "pre-shared-key", "auth-password", "md5-key", "community"}
)  # fmt: skip
FORTI_SECRET_SUFFIXES = ("-pwd", "-password", "-secret", "-key")
FORTI_COMMUNITY_BLOCK = "config system snmp community"


def mask_ios_line(line: str) -> str:
    """One IOS line (stripped) with its password, key or non-default community masked."""
    m = _IOS_COMMUNITY.match(line)
    if m:
        return line if m.group(2).lower() in WELL_KNOWN_COMMUNITIES else f"{m.group(1)} {MASK}{line[m.end() :]}"
    m = _IOS_HOST_COMMUNITY.match(line)
    if m and m.group(2).lower() not in WELL_KNOWN_COMMUNITIES:
        return f"{m.group(1)} {MASK}{line[m.end() :]}"
    if line.startswith("snmp-server user"):
        return _IOS_SNMP_KEYS.sub(lambda k: f"{k.group(1)} {MASK}", line)
    for pattern in _IOS_SECRETS:
        m = pattern.match(line)
        if m:
            return f"{m.group(1)} {MASK}{line[m.end() :]}"
    return line


def is_forti_secret_key(key: str) -> bool:
    return key in FORTI_SECRET_KEYS or key.endswith(FORTI_SECRET_SUFFIXES)


def masked_forti_set(key: str, value: str) -> str:
    """`set <key> <value>` as shown when the value is a secret (an ENC prefix stays visible)."""
    encrypted = value.split(" ", 1)[0] == "ENC"
    return f"set {key} {'ENC ' if encrypted else ''}{MASK}"
