"""Running-configs with every password, key and private community masked: what kiemke stores
(config snapshots are kept masked, so no device secret rests in the database) and shows.

Self-contained on purpose (the config parsers mask their evidence lines with their own private
rules, which change with the parsers): this masks whole texts, line by line, and knows FortiOS
community names as secrets from the block they sit in. When in doubt a line is masked.
"""

from __future__ import annotations

import difflib
import re

from compliance.configparse.facts import MASK, WELL_KNOWN_COMMUNITIES

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

_FORTI_SECRET_KEYS = frozenset(
    {"password", "passwd", "psksecret", "auth-pwd", "priv-pwd", "key", "secret", "private-key", "passphrase",
     "pre-shared-key", "auth-password", "md5-key", "community"}
)  # fmt: skip
_FORTI_SET = re.compile(r"^set\s+(\S+)\s+(.*)$")
_FORTI_COMMUNITY_BLOCK = "config system snmp community"


def _mask_ios(line: str) -> str:
    m = _IOS_COMMUNITY.match(line)
    if m:
        return line if m.group(2).lower() in WELL_KNOWN_COMMUNITIES else f"{m.group(1)} {MASK}{line[m.end():]}"
    m = _IOS_HOST_COMMUNITY.match(line)
    if m and m.group(2).lower() not in WELL_KNOWN_COMMUNITIES:
        return f"{m.group(1)} {MASK}{line[m.end():]}"
    if line.startswith("snmp-server user"):
        return _IOS_SNMP_KEYS.sub(lambda k: f"{k.group(1)} {MASK}", line)
    for pattern in _IOS_SECRETS:
        if pattern.match(line):
            return pattern.sub(lambda k: f"{k.group(1)} {MASK}", line, count=1)
    return line


def _mask_forti(line: str, blocks: list[str]) -> str:
    m = _FORTI_SET.match(line)
    if not m:
        return line
    key, value = m.group(1), m.group(2).strip()
    if key in _FORTI_SECRET_KEYS or key.endswith(("-pwd", "-password", "-secret", "-key")):
        return f"set {key} {'ENC ' if value.startswith('ENC ') else ''}{MASK}"
    if key == "name" and blocks and blocks[-1] == _FORTI_COMMUNITY_BLOCK and value.strip('"').lower() not in WELL_KNOWN_COMMUNITIES:
        return f"set name {MASK}"
    return line


def mask_config(text: str) -> str:
    """The config with secrets replaced by `<redacted>`, indentation and line count kept."""
    out = []
    blocks: list[str] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("config "):
            blocks.append(" ".join(stripped.split()))
        elif stripped == "end" and blocks:
            blocks.pop()
        masked = _mask_forti(stripped, blocks) if stripped.startswith("set ") else _mask_ios(stripped)
        out.append(raw if masked == stripped else raw[: len(raw) - len(raw.lstrip())] + masked)
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def masked_diff(old_text: str, new_text: str, old_label: str, new_label: str) -> str:
    """Unified diff of two configs, both masked first (a changed secret shows as a masked line)."""
    return "".join(
        difflib.unified_diff(
            mask_config(old_text).splitlines(keepends=True),
            mask_config(new_text).splitlines(keepends=True),
            fromfile=old_label,
            tofile=new_label,
        )
    )
