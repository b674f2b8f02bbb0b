"""Which config lines carry secrets, and those lines masked: one set of rules for the parsers'
evidence lines (compliance/configparse) and for whole stored configs (inventory/redact.py).
It sits in inventory, the lowest layer, because collectors (which store configs masked) and
compliance (which shows evidence lines) both use it. When in doubt, mask."""

from __future__ import annotations

import re

# Community names shown as-is in evidence; any other community is a secret and is masked.
WELL_KNOWN_COMMUNITIES = frozenset({"public", "private"})
MASK = "<redacted>"

# Cisco IOS: the statements that carry a secret, as data. Each pattern matches a whole statement
# from its start: group 1 is the words kept readable, group 2 the secret masked (a word, or the
# rest of the line for a secret that may hold spaces); what follows group 2 is kept. The first
# pattern that matches a line wins, so a specific statement comes before a general one.
IOS_SECRET_STATEMENTS: tuple[str, ...] = (
    r"^(enable (?:algorithm-type \S+ )?(?:secret|password)(?: level \d+)?(?: \d)?) (\S+)",
    r"^(username \S+ .*?(?:secret|password)(?: \d)?) (\S+)",
    # `cipher`/`irreversible-cipher`/`simple` are VRP's forms; ArubaOS-Switch's `password manager ...
    # sha1 "<hash>"` is left to mask_other_platforms.
    r"^((?:password|key|key-string|secret)(?: \d| cipher| irreversible-cipher| simple)?) (?!(?:manager|operator|port-access)\b)(\S+)",
    r"^((?:tacacs-server|radius-server) (?:host \S+ (?:\S+ )*?)?key(?: \d)?) (\S+)",  # host A [auth-port N ...] key
    r"^(server-private \S+ (?:\S+ )*?key(?: \d)?) (\S+)",  # inside `aaa group server`
    r"^(ntp authentication-key \d+ md5) (\S+)",
    r"^(crypto isakmp key(?: \d)?) (\S+)",
    # BGP: `neighbor <peer> password [0|7] <line>` (the password may hold spaces).
    r"^(neighbor \S+ password(?: \d)?) (.+)$",
    # Keyring: `pre-shared-key address <ip> [<mask>] key [0|6] <key>` (also hostname).
    r"^(pre-shared-key (?:address|hostname) .*?\bkey(?: \d)?) (\S+)",
    # HSRP: `standby [<group>] authentication md5 key-string|key-chain [0|7] <key>`, or a text key.
    r"^(standby (?:\d+ )?authentication md5 key-(?:string|chain)(?: \d)?) (\S+)",
    r"^(standby (?:\d+ )?authentication(?: text)?) (?!md5\b)(\S+)",
    # PPP: `ppp chap|pap password [0|7] <pw>`, `ppp pap sent-username <user> password [0|7] <pw>`.
    r"^(ppp (?:chap|pap) (?:sent-username \S+ )?password(?: \d)?) (\S+)",
    # Wireless: `wpa-psk ascii|hex [0|7] <key>`.
    r"^(wpa-psk (?:ascii|hex)(?: \d)?) (\S+)",
    r"^(vtp password) (\S+)",
    r"^(ip (?:ftp|http client) password(?: \d)?) (\S+)",
    r"^(.*\b(?:pre-shared-key|authentication-key|md5)(?: \d)?) (\S+)",
)
_IOS_SECRETS = tuple(re.compile(pattern) for pattern in IOS_SECRET_STATEMENTS)
_IOS_SNMP_KEYS = re.compile(r"\b((?:auth (?:md5|sha\S*))|(?:priv (?:des|3des|aes(?: \d+)?))) \S+")
_IOS_COMMUNITY = re.compile(r"^(snmp-server community)\s+(\S+)")  # (ArubaOS-Switch quotes the name)
_IOS_HOST_COMMUNITY = re.compile(r"^(snmp-server host \S+(?: vrf \S+)?(?: (?:traps|informs))?(?: version (?:1|2c|3 \S+))?) (\S+)")

# FortiOS: the `set <key> <value>` statements whose value is a secret, as data (the keys, and
# suffixes any key ending so carries). A quoted value may span lines (`set private-key "-----BEGIN
# ENCRYPTED PRIVATE KEY-----` ... `-----END ENCRYPTED PRIVATE KEY-----"`): every line is masked.
FORTI_SECRET_KEYS = frozenset(
    {"password", "passwd", "psksecret", "auth-pwd", "priv-pwd", "key", "secret", "private-key", "passphrase",
     "pre-shared-key", "auth-password", "md5-key", "community", "key-string"}
)  # fmt: skip
FORTI_SECRET_SUFFIXES = ("-pwd", "-password", "-secret", "-key")
FORTI_COMMUNITY_BLOCK = "config system snmp community"


def mask_ios_line(line: str) -> str:
    """One IOS line (stripped) with its password, key or non-default community masked."""
    m = _IOS_COMMUNITY.match(line)
    if m:
        return line if m.group(2).strip('"').lower() in WELL_KNOWN_COMMUNITIES else f"{m.group(1)} {MASK}{line[m.end() :]}"
    m = _IOS_HOST_COMMUNITY.match(line)
    if m and m.group(2).strip('"').lower() not in WELL_KNOWN_COMMUNITIES:
        return f"{m.group(1)} {MASK}{line[m.end() :]}"
    if line.startswith("snmp-server user"):
        return _IOS_SNMP_KEYS.sub(lambda k: f"{k.group(1)} {MASK}", line)
    for pattern in _IOS_SECRETS:
        m = pattern.match(line)
        if m:
            return f"{line[: m.start(2)]}{MASK}{line[m.end(2) :]}"
    return line


def is_forti_secret_key(key: str) -> bool:
    return key in FORTI_SECRET_KEYS or key.endswith(FORTI_SECRET_SUFFIXES)


def masked_forti_set(key: str, value: str) -> str:
    """`set <key> <value>` as shown when the value is a secret (an ENC prefix stays visible)."""
    if re.fullmatch(r'"-----BEGIN [A-Z0-9 ]+-----', value):  # a multi-line key's first line: only its armor
        return f"set {key} {value}"
    encrypted = value.split(" ", 1)[0] == "ENC"
    return f"set {key} {'ENC ' if encrypted else ''}{MASK}"


def opens_quote(text: str) -> bool:
    """An odd number of unescaped double quotes: a quoted FortiOS value starts or ends on this line."""
    if '"' not in text:
        return False
    return len(re.findall(r'(?<!\\)"', text)) % 2 == 1


# Huawei VRP, Junos, ArubaOS-Switch and PAN-OS: the words a secret follows, as data. Their parsers
# mask their own evidence; this masks their stored configs (a scan bundle may carry one). The
# secret is the next word after the keyword and its qualifiers (`password irreversible-cipher X`,
# `sha1 "X"`), or a quoted string to its closing quote; a crypt-style hash or a Junos `$9$`
# ciphertext is masked wherever it stands.
OTHER_SECRET_WORDS = frozenset({
    "cipher", "irreversible-cipher", "encrypted-password", "authentication-key", "privacy-key", "simple-password",
    "authentication-password", "privacy-password", "phash", "key-value", "community-string", "shared-key",
    "ascii-text", "secret", "key", "password", "plaintext", "simple", "sha1", "sha256", "md5", "auth-key", "psk",
    "bind-password", "authpwd", "privpwd", "pre-shared-key", "encrypted-key",
})  # fmt: skip
# Words that may stand between a keyword and its secret (a form or an algorithm), never a secret.
_QUALIFIERS = frozenset({
    "0", "5", "7", "8", "9", "md5", "sha", "sha1", "sha256", "hmac-sha256", "aes", "des", "3des", "aes128", "aes256",
    "simple", "cipher", "irreversible-cipher", "plain", "plaintext", "ascii-text", "hexadecimal", "none", "128", "192", "256", "enc",
})  # fmt: skip
_BEFORE_ALGORITHM = frozenset({"auth", "priv"})
_ALGORITHMS = frozenset({"md5", "sha", "sha1", "sha256", "sha512", "aes", "des", "3des", "aes128", "aes256"})
_CRYPT_HASH = re.compile(r'("?)(\$(?:1|1a|5|6|9|2[aby]?|sha1|sha512)\$)[^\s";]*("?)')
# The storage form a secret value starts with (a crypt hash, a Junos `$9$`, PAN-OS master-key
# ciphertext): kept in front of the mask, so a masked config is judged like the original.
_STORAGE_FORM = re.compile(r'^"?(?:\$(?:1|1a|5|6|9|2[aby]?|sha1|sha512)\$|-AQ==)')
# ArubaOS-Switch `password manager|operator|port-access user-name X sha1 "<hash>"`: the word after
# `password` is a role; the secret follows `sha1`/`plaintext`, themselves secret words.
_ROLES_AFTER_PASSWORD = frozenset({"manager", "operator", "port-access"})
_SPACES = re.compile(r"(\s+)")


def mask_other_platforms(line: str) -> str:
    """A VRP, Junos, ArubaOS-Switch or PAN-OS line (stripped) with its secrets masked."""
    parts = _SPACES.split(line)
    words = range(0, len(parts), 2)  # parts[odd] are the spaces between words
    hide: set[int] = set()
    for i in words:
        word = parts[i].strip('"').lower()
        if word in _BEFORE_ALGORITHM:  # `auth sha "<key>"`, `priv aes "<key>"` (SNMPv3 users)
            if i + 2 >= len(parts) or parts[i + 2].lower() not in _ALGORITHMS:
                continue
        elif word not in OTHER_SECRET_WORDS:
            continue
        if word == "password" and i + 2 < len(parts) and parts[i + 2].lower() in _ROLES_AFTER_PASSWORD:
            continue
        j = i + 2
        while j < len(parts) and parts[j].strip('";').lower() in _QUALIFIERS and j < i + 6:
            j += 2
        if j >= len(parts) or j in hide:
            continue
        value = parts[j].strip('";')
        if not value or value.lower() in WELL_KNOWN_COMMUNITIES or value == MASK or value.lower() in OTHER_SECRET_WORDS:
            continue
        if "^C" in value:  # the end of an IOS banner ("Give me password ^C"): its text is shown to all
            continue
        hide.add(j)
        if parts[j].startswith('"') and not parts[j].rstrip(";").endswith('"'):  # a quoted secret with spaces
            k = j + 2
            while k < len(parts) and '"' not in parts[k]:
                hide.add(k)
                k += 2
            if k < len(parts):
                hide.add(k)
    if hide:
        parts = [_masked_word(part) if n in hide else part for n, part in enumerate(parts)]
    return _CRYPT_HASH.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(3)}", "".join(parts))


def _masked_word(word: str) -> str:
    """One secret word masked, its storage form, quotes and closing `;` kept."""
    form = _STORAGE_FORM.match(word)
    if not form:
        return MASK + (";" if word.endswith(";") else "")
    closing = '"' if form.group(0).startswith('"') and word.rstrip(";").endswith('"') else ""
    return form.group(0) + MASK + closing + (";" if word.endswith(";") else "")
