"""IOS keyword abbreviations, spelled out: `ip ssh ver 2` is `ip ssh version 2`.

IOS accepts any unambiguous prefix of a keyword and always writes the full word back, so only
hand-written or pasted configurations carry abbreviations. The statements the IOS parser reads
are data here, with the sibling keywords that make a prefix ambiguous (IOS refuses `logging h`:
host, history). A word is spelled out only where exactly one keyword at its place starts with
it and the word has at least three letters (a shorter one might stand for a keyword this table
does not know); `*` stands for an argument (a user name, a number)."""

from __future__ import annotations

from functools import lru_cache

# Each phrase: keywords (and `*` arguments) from the start of a statement.
PHRASES: tuple[str, ...] = (
    "ip ssh version", "ip ssh time-out", "ip ssh authentication-retries", "ip ssh source-interface", "ip ssh rsa", "ip ssh server",
    "ip ssh pubkey-chain", "ip ssh logging", "ip ssh port", "ip ssh dh", "ip ssh maxstartups", "ip ssh window-size", "ip ssh stricthostkeycheck",
    "ip http server", "ip http secure-server", "ip http access-class", "ip http authentication", "ip http client", "ip http path",
    "ip http port", "ip http secure-port", "ip http secure-ciphersuite", "ip http secure-trustpoint", "ip http max-connections",
    "ip http timeout-policy", "ip http session-module-list", "ip http active-session-modules", "ip http secure-active-session-modules",
    "ip access-list standard", "ip access-list extended", "ip access-list resequence", "ip access-list logging",
    "ipv6 access-list",
    "username * privilege * password", "username * privilege * secret", "username * privilege * nopassword",
    "username * password", "username * secret", "username * nopassword", "username * algorithm-type", "username * view",
    "username * autocommand", "username * one-time",
    "enable secret", "enable password", "enable algorithm-type",
    "service password-encryption", "service timestamps", "service tcp-keepalives-in", "service tcp-keepalives-out",
    "snmp-server community", "snmp-server host", "snmp-server user", "snmp-server group", "snmp-server view",
    "snmp-server location", "snmp-server contact", "snmp-server enable", "snmp-server engineID", "snmp-server trap-source",
    "snmp-server source-interface", "snmp-server ifindex", "snmp-server trap", "snmp-server packetsize",
    "logging host", "logging on", "logging trap", "logging buffered", "logging console", "logging monitor", "logging facility",
    "logging source-interface", "logging origin-id", "logging history", "logging rate-limit", "logging queue-limit",
    "logging event", "logging discriminator", "logging userinfo", "logging persistent", "logging file",
    "ntp server", "ntp peer", "ntp source", "ntp authenticate", "ntp authentication-key", "ntp trusted-key", "ntp master",
    "ntp update-calendar", "ntp logging", "ntp access-group",
    "aaa new-model", "aaa authentication login", "aaa authentication enable", "aaa authorization", "aaa accounting",
    "aaa group", "aaa session-id",
    "line vty", "line con", "line console", "line aux",  # IOS itself writes `line con 0`
    "transport input", "transport output", "transport preferred",
    "exec-timeout", "session-timeout", "access-class", "ipv6 access-class", "login local", "login authentication",
    "access-list",
)  # fmt: skip

# Whole keywords IOS has at the start of a statement (top level or in a `line` block) that the
# parser does not read: known, so that they are never taken for an abbreviation of one it reads
# (`no exec` is not `no exec-timeout`, `login` is not `login local`).
OTHER_KEYWORDS: tuple[str, ...] = (
    "exec", "exec-banner", "exec-character-bits", "login", "password", "privilege", "logging", "stopbits", "speed", "history",
    "length", "width", "escape-character", "modem", "autoselect", "flowcontrol", "absolute-timeout", "motd-banner", "location",
    "session-limit", "vacant-message", "rotary", "autocommand", "notify", "databits", "parity", "terminal-type", "timeout",
    "international", "media-type", "hostname", "interface", "router", "crypto", "end", "version", "boot", "license",
    "redundancy", "spanning-tree", "vlan", "vtp", "clock", "control-plane", "archive", "key", "class-map", "policy-map",
    "object-group", "track", "event", "alias", "banner", "mac", "errdisable", "lldp", "cdp", "power", "call-home", "dot1x",
    "diagnostic", "memory", "process", "file", "multilink", "security", "platform", "subscriber", "card", "controller",
    "voice", "dial-peer", "telephony-service", "scheduler", "netconf", "restconf", "no", "default", "description",
    "shutdown", "switchport", "channel-group", "standby", "vrrp", "encapsulation", "bandwidth", "duplex", "storm-control",
    "service-policy", "tunnel", "nat", "zone", "zone-pair", "parameter-map", "template", "domain", "ip", "ipv6",
    "enable", "service", "snmp-server", "ntp", "aaa", "line", "transport", "username", "access-list", "exit", "sdwan",
)  # fmt: skip
MIN_LETTERS = 3


@lru_cache(maxsize=1)
def _trie() -> dict:
    root: dict = {word: {} for word in OTHER_KEYWORDS}
    for phrase in PHRASES:
        node = root
        for word in phrase.split():
            node = node.setdefault(word, {})
    return root


@lru_cache(maxsize=1)
def _first_words() -> frozenset[str]:
    """The first words that may start a statement with something to spell out: the first keyword of
    a phrase read, and its abbreviations (a keyword that is only known, like `interface`, is not)."""
    read = {phrase.split()[0] for phrase in PHRASES}
    return frozenset(key[:n] for key in read for n in range(min(MIN_LETTERS, len(key)), len(key) + 1))


def spell_out(line: str) -> str:
    """`line` (a config line, indentation kept) with abbreviated keywords spelled out.

    >>> spell_out("ip ssh ver 2")
    'ip ssh version 2'
    >>> spell_out(" transport inp ssh")
    ' transport input ssh'
    >>> spell_out("username bob priv 15 pass 0 x")
    'username bob privilege 15 password 0 x'
    >>> spell_out("logging h 10.0.0.1")  # host or history: left as written
    'logging h 10.0.0.1'
    >>> spell_out(" no exec")  # a keyword of its own, not exec-timeout
    ' no exec'
    """
    stripped = line.lstrip()
    first, _, rest = stripped.partition(" ")
    if first == "no":
        first = rest.partition(" ")[0]
    if first not in _first_words():
        return line  # the common case, decided without splitting: a statement this table does not read
    words = stripped.split(" ")
    node = _trie()
    start = 1 if words[0] == "no" else 0
    changed = False
    for i in range(start, len(words)):
        word = words[i]
        if not node or not word:
            break
        if word in node:
            node = node[word]
            continue
        matches = [key for key in node if key != "*" and key.startswith(word)] if len(word) >= MIN_LETTERS else []
        if len(matches) == 1:
            words[i] = matches[0]
            node = node[matches[0]]
            changed = True
        elif "*" in node and not matches:
            node = node["*"]
        else:
            break
    return line[: len(line) - len(stripped)] + " ".join(words) if changed else line
