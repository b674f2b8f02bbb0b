"""Which platform's syntax a configuration file is written in, so that a file checked as the
wrong platform (or no configuration at all) is refused instead of judged.

A parser fed another platform's text finds none of the statements it reads and, before this, a
missing statement could read as a secure default: an IOS file checked as FortiOS, or a file of
comments only, got passes. `refusal(text, platform)` gives the reason to refuse such input (None:
it looks like `platform`), naming the platform it resembles.

Each platform has a few statement patterns that are typical of it (the markers below, data); a
file's score for a platform is how many of its first lines match one. Comment lines count for
none, so a file of comments has no statements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Only the head of a file is read: a platform shows itself in its first statements, and a
# hostile file of millions of lines costs no more than this.
LINES_READ = 5000

# Comment lines of each syntax (IOS and Huawei "!"/"#", Aruba ";", Junos "#" and "/* */").
_COMMENT = re.compile(r"^\s*(?:[!#;]|/\*|\*|$)")

# platform -> (pattern, weight): strong markers belong to that platform only, weak ones are
# shared with a relative (`set ` lines, `interface` blocks).
MARKERS: dict[str, tuple[tuple[str, int], ...]] = {
    "cisco_ios": (
        (
            r"^(?:hostname \S+$|line (?:vty|con|console|aux) \d|ip (?:ssh|http|domain|route|access-list|name-server)\b|"
            r"snmp-server (?:community|host|group|user|location|contact)\b|enable (?:secret|password)\b|service (?:password-encryption|timestamps)\b|"
            r"aaa new-model|username \S+ (?:priv|privilege|secret|password)\b|access-list \d+|version \d+\.\d+|boot[- ])",
            3,
        ),
        (r"^(?:interface \S+|router \S+|logging \S+|ntp server|no \S+|spanning-tree|vlan \d+|crypto \S+|banner \S+|archive|control-plane)", 1),
        (r"^\s+(?:transport input|login|exec-timeout|access-class|ip address|switchport|shutdown|description)\b", 1),
    ),
    "fortinet": (
        (r"^\s*config (?:system|firewall|vpn|user|log|router|global|vdom|wireless-controller|switch-controller|antivirus|webfilter|ips|application)\b", 3),
        (r"^\s*(?:edit (?:\d+|\"[^\"]*\")|next|end)$", 1),
        (r"^\s+set \S+", 1),
    ),
    "huawei_vrp": (
        (
            r"^(?:sysname \S+|user-interface (?:vty|con|console)|info-center \S+|snmp-agent\b|stelnet server|ntp-service\b|"
            r"ssh (?:server|user|client)\b|return$|undo \S+|local-user \S+ |security-policy$|firewall zone\b)",
            3,
        ),
        (r"^\s+(?:local-user \S+|authentication-mode \S+|protocol inbound|rule \d+ (?:permit|deny)|quit$|undo \S+)", 2),
    ),
    "juniper_junos": (
        (r"^set (?:system|interfaces|protocols|security|firewall|snmp|routing-options|vlans|policy-options|chassis|forwarding-options)\b", 3),
        (r"^(?:system|interfaces|protocols|security|firewall|snmp|routing-options|vlans|policy-options|chassis) \{$", 3),
        (r"^\s+(?:host-name|services|login|syslog|ntp|root-authentication) ?\{?", 1),
        (r"^\s*\}$", 1),
    ),
    "aruba_osswitch": (
        (
            r"^(?:hostname \"[^\"]*\"|module \d+ type|password manager|ip authorized-managers|no telnet-server|console idle-timeout|"
            r"sntp server|snmp-server community \"[^\"]*\"|web-management|trunk \S+ \S+ (?:trunk|lacp))",
            3,
        ),
        (r"^\s+(?:untagged|tagged|name \"[^\"]*\")", 1),
        (r"^exit$", 1),
    ),
    "paloalto_panos": ((r"^set (?:deviceconfig|mgt-config|rulebase|network|shared|zone|vsys|address|service|profiles|import)\b", 3),),
}

# Header lines a platform writes at the top of a saved configuration: comments in form, but the
# surest sign of all.
HEADERS: dict[str, str] = {
    "fortinet": r"^#config-version=F",
    "aruba_osswitch": r"^; \S+ Configuration Editor;",
}
HEADER_WEIGHT = 10

_HEADERS = {platform: re.compile(pattern) for platform, pattern in HEADERS.items()}
_COMPILED = {platform: tuple((re.compile(pattern), weight) for pattern, weight in markers) for platform, markers in MARKERS.items()}


@dataclass(frozen=True)
class Resemblance:
    """How much a text looks like each platform, and how many statements it has."""

    statements: int  # non-comment, non-blank lines among the lines read
    scores: dict[str, int]

    def best(self, *, besides: str | None = None) -> tuple[str | None, int]:
        """The platform the text resembles most (other than `besides`) and its score."""
        candidates = [(score, platform) for platform, score in self.scores.items() if platform != besides and score > 0]
        if not candidates:
            return None, 0
        score, platform = max(candidates)
        return platform, score


def resemblance(text: str) -> Resemblance:
    """Score the first LINES_READ lines of `text` against every platform's markers."""
    scores = dict.fromkeys(_COMPILED, 0)
    statements = 0
    for number, line in enumerate(text.splitlines()):
        if number >= LINES_READ:
            break
        if _COMMENT.match(line):
            for platform, header in _HEADERS.items():
                if header.match(line):
                    scores[platform] += HEADER_WEIGHT
            continue
        statements += 1
        for platform, markers in _COMPILED.items():
            for pattern, weight in markers:
                if pattern.match(line):
                    scores[platform] += weight
                    break
    return Resemblance(statements, scores)


def _binary(text: str) -> bool:
    head = text[:65536]
    if "\x00" in head:
        return True
    controls = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\r\n\f")
    return controls > len(head) // 100  # a configuration has no control characters to speak of


_PANOS_XML = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?(?:<response[^>]*>\s*<result[^>]*>\s*)?<config\b[^>]*>", re.S)


def refusal(text: str, platform: str) -> str | None:
    """Why `text` is not taken as a `platform` configuration, or None when it looks like one."""
    if _binary(text):
        return "the file is not text (binary data or control characters): not a configuration"
    if platform == "paloalto_panos" and _PANOS_XML.search(text[:4096]):
        return "the file is PAN-OS's XML form: kiemke reads the set form (`set cli config-output-format set`, then `show` in configure mode)"
    seen = resemblance(text)
    if seen.statements == 0:
        return "the file has no configuration statements (it is empty or holds only comments)"
    own = seen.scores.get(platform, 0)
    other, other_score = seen.best(besides=platform)
    # Another platform's markers clearly outweigh the chosen one's: the wrong platform was chosen.
    if other is not None and (own == 0 or (other_score >= 5 and other_score > 2 * own)):
        return f"the file does not look like a {platform} configuration; it resembles {other} (choose --platform {other})"
    if own == 0:
        return f"the file does not look like a {platform} configuration: none of its statements is {platform} syntax"
    return None
