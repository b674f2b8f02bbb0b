"""Running-configs with every password, key and private community masked: what kiemke stores
(config snapshots are kept masked, so no device secret rests in the database) and shows.

The rules are those the parsers mask their evidence lines with (inventory/secret_lines.py);
this applies them to whole texts, line by line, and knows FortiOS community names as secrets
from the block they sit in. When in doubt a line is masked. A neutral utility in the lowest
layer: collectors store configs masked, the web shows them masked.
"""

from __future__ import annotations

import difflib
import re

from inventory.secret_lines import (
    FORTI_COMMUNITY_BLOCK,
    MASK,
    WELL_KNOWN_COMMUNITIES,
    is_forti_secret_key,
    mask_ios_line,
    mask_other_platforms,
    masked_forti_set,
    opens_quote,
)

_FORTI_SET = re.compile(r"^set\s+(\S+)\s+(.*)$")
# Lines of a multi-line key that say how it is stored, not what it is.
_KEY_FORM_LINE = re.compile(r'^(?:"?-----(?:BEGIN|END) [A-Z0-9 ]+-----"?|Proc-Type: [\w,]+)$')
_OPENSSH_ARMOR = "-----BEGIN OPENSSH PRIVATE KEY-----"
# A Junos hierarchical statement: ends in `;` (or carries the `## SECRET-DATA` comment Junos adds).
_JUNOS_STATEMENT = re.compile(r";\s*(?:## SECRET-DATA)?\s*$")


def _mask_forti(line: str, blocks: list[str]) -> str:
    m = _FORTI_SET.match(line)
    if not m:
        return line
    key, value = m.group(1), m.group(2).strip()
    if is_forti_secret_key(key):
        return masked_forti_set(key, value)
    if key == "name" and blocks and blocks[-1] == FORTI_COMMUNITY_BLOCK and value.strip('"').lower() not in WELL_KNOWN_COMMUNITIES:
        return f"set name {MASK}"
    return line


def mask_config(text: str) -> str:
    """The config with secrets replaced by `<redacted>`, indentation and line count kept.

    A FortiOS quoted value spanning lines (a private key, a certificate, a replacement message)
    is one statement: when its key is a secret, every line up to the closing quote is masked but
    for what says how the key is stored (its armor lines, a PEM `Proc-Type`, the first line of an
    OpenSSH key, which names its cipher): a masked key is judged like the key."""
    out = []
    blocks: list[str] = []
    quoted: bool | None = None  # inside a multi-line quoted value: whether it is a secret
    previous = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        indent = raw[: len(raw) - len(raw.lstrip())]
        if quoted is not None:
            # Inside a quoted text that is not itself a secret (an auto-script, a banner): its lines
            # are commands too, and a password typed into one is masked like any other.
            if quoted:
                masked = stripped if _KEY_FORM_LINE.match(stripped) or previous.endswith(_OPENSSH_ARMOR) else MASK
            else:
                masked = _mask_forti(stripped, blocks) if stripped.startswith("set ") else mask_ios_line(stripped)
            if opens_quote(stripped):
                quoted = None  # the closing quote
            out.append(raw if masked == stripped else indent + masked)
            previous = stripped
            continue
        previous = stripped
        if stripped.startswith("config "):
            blocks.append(" ".join(stripped.split()))
        elif stripped == "end" and blocks:
            blocks.pop()
        if stripped.startswith("set "):
            masked = _mask_forti(stripped, blocks)
            if opens_quote(stripped):
                key = stripped.split(None, 2)[1]
                quoted = is_forti_secret_key(key) or masked != stripped
        elif _JUNOS_STATEMENT.search(stripped):  # IOS rules would take the `;` into the secret
            masked = stripped
        else:
            masked = mask_ios_line(stripped)
        if masked == stripped:  # the other platforms' secret words (Junos and PAN-OS set lines too)
            masked = mask_other_platforms(stripped)
        out.append(raw if masked == stripped else indent + masked)
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
