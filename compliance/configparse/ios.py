"""Cisco IOS 12.x/15.x running-config: top-level commands with indented children."""

from __future__ import annotations

import math
import re
from typing import Literal

from compliance.configparse.facts import (
    AdminAccount,
    ConfigLine,
    Evidence,
    Fact,
    FirewallRule,
    MgmtAccess,
    NetworkConfigFacts,
    SecretKind,
    SecurityLevel,
    SessionTimeout,
    SnmpCommunity,
    SnmpV3Principal,
    TerminalLine,
    Unreadable,
)
from compliance.configparse.ios_keywords import spell_out
from inventory.choices import Platform
from inventory.secret_lines import MASK, WELL_KNOWN_COMMUNITIES, mask_ios_line

# Every secret statement of inventory/secret_lines.py holds one of these words (its patterns are
# case-sensitive); a line without any is shown as it is, without trying each pattern in turn.
# tests/compliance/test_ios_mask_words.py holds the list to the patterns.
SECRET_WORDS = ("key", "secret", "password", "snmp-server", "standby", "wpa-psk", "md5")


def _ios_mask(line: str) -> str:
    """`mask_ios_line(line)`, straight away for the many lines that cannot hold a secret, and
    once per distinct line in a process (a fleet's configs repeat most lines they cite)."""
    masked = _MASKED.get(line)
    if masked is None:
        if len(_MASKED) > _MASKED_MAX:
            _MASKED.clear()  # bounded: a fleet's distinct lines, not every line ever shown
        masked = _MASKED[line] = _mask_now(line)
    return masked


_MASKED: dict[str, str] = {}
_MASKED_MAX = 50_000


def _mask_now(line: str) -> str:
    for word in SECRET_WORDS:
        if word in line:
            return mask_ios_line(line)
    return line


_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def _ascii_int(word: str) -> int | None:
    """`word` as a plain non-negative integer (ASCII digits only), else None.

    int() would also take "+5", " 5", "1_0" or other scripts' digits, which IOS never writes."""
    return int(word) if word.isascii() and word.isdigit() else None


class _IosNode:
    """A config line (raw text for parsing, masked `line` for evidence) and its indented children.

    Built lazily, as most lines are never read: the masked `ConfigLine` on first use as evidence,
    the children (raw lines `start`..`stop` of the config) on first look."""

    __slots__ = ("number", "text", "_children", "_line", "_raw", "_start", "_stop")

    def __init__(self, number: int, text: str, raw: list[str] | None = None, start: int = 0, stop: int = 0) -> None:
        self.number = number
        self.text = text
        self._children: list[_IosNode] | None = None if raw is not None else []
        self._line: ConfigLine | None = None
        self._raw = raw
        self._start = start
        self._stop = stop

    @property
    def children(self) -> list[_IosNode]:
        if self._children is None:
            self._children = [_IosNode(number, text) for number, text in self.child_lines()]
        return self._children

    def child_lines(self) -> list[tuple[int, str]]:
        """(line number, text) of the children, without building nodes."""
        if self._children is not None:
            return [(c.number, c.text) for c in self._children]
        found = []
        raw = self._raw
        for i in range(self._start, self._stop):
            stripped = raw[i].strip()  # type: ignore[index]
            if stripped and stripped[0] != "!":
                found.append((i + 1, stripped))
        return found

    def children_with(self, needle: str) -> list[_IosNode]:
        """The children whose text contains `needle` (a cheap filter before splitting words)."""
        if self._children is not None:
            return [c for c in self._children if needle in c.text]
        found = []
        raw = self._raw
        for i in range(self._start, self._stop):
            line = raw[i]  # type: ignore[index]
            if needle in line:
                stripped = line.strip()
                if stripped and stripped[0] != "!":
                    found.append(_IosNode(i + 1, stripped))
        return found

    @property
    def line(self) -> ConfigLine:
        if self._line is None:
            self._line = ConfigLine(self.number, _ios_mask(self.text))
        return self._line


class _IosConfig:
    """Top-level commands in order, indexed by first word (text up to the first space)."""

    __slots__ = ("nodes", "by_word")

    def __init__(self, nodes: list[_IosNode], by_word: dict[str, list[_IosNode]] | None = None) -> None:
        self.nodes = nodes
        if by_word is None:
            by_word = {}
            for node in nodes:
                word = node.text.partition(" ")[0]
                if word in by_word:
                    by_word[word].append(node)
                else:
                    by_word[word] = [node]
        self.by_word = by_word

    def last(self, text: str) -> _IosNode | None:
        """The last top-level command that is exactly `text`."""
        for node in reversed(self.by_word.get(text.partition(" ")[0], ())):
            if node.text == text:
                return node
        return None


def _ios_tree(text: str) -> _IosConfig:
    """Top-level commands with their indented children; comments and banner bodies skipped.
    Abbreviated keywords are spelled out (`ip ssh ver 2`): the line numbers stay, the evidence
    shows the statement as IOS itself would write it."""
    raw = [spell_out(line) for line in text.splitlines()]
    size = len(raw)
    # Top-level commands start in column 0; every other line up to the next one is a child
    # (or blank, or a comment), except a banner's body.
    tops = [i for i, line in enumerate(raw) if line and not line[0].isspace() and line[0] != "!"]
    for i in range(tops[0] if tops else size):
        stripped = raw[i].strip()
        if stripped and stripped[0] != "!":  # an indented line before any command
            margin = _common_margin(raw)
            if margin:  # a whole config pasted indented (from a mail or a document): read it as typed
                return _ios_tree("\n".join(line[margin:] for line in raw))  # spelled out again: cheap, and the same
            return _IosConfig(_ios_tree_lines(raw))
    nodes: list[_IosNode] = []
    by_word: dict[str, list[_IosNode]] = {}
    count = len(tops)
    k = 0
    while k < count:
        i = tops[k]
        stripped = raw[i].strip()
        k += 1
        start = i + 1
        if stripped.startswith("banner"):
            delim = _banner_delimiter(stripped)
            if delim is not None:  # skip the body, through the line that closes it
                while start < size and delim not in raw[start]:
                    start += 1
                start += 1
                while k < count and tops[k] < start:
                    k += 1
        node = _IosNode(i + 1, stripped, raw, start, tops[k] if k < count else size)
        nodes.append(node)
        word = stripped.partition(" ")[0]
        if word in by_word:
            by_word[word].append(node)
        else:
            by_word[word] = [node]
    return _IosConfig(nodes, by_word)


def _common_margin(raw: list[str]) -> int:
    """The indentation every command line shares (comments and blank lines aside)."""
    margins = [len(line) - len(line.lstrip()) for line in raw if line.strip() and not line.lstrip().startswith("!")]
    return min(margins) if margins else 0


def _ios_tree_lines(raw: list[str]) -> list[_IosNode]:
    """`_ios_tree`, line by line: also right when the config starts with an indented line."""
    nodes: list[_IosNode] = []
    banner_delim: str | None = None
    for number, line in enumerate(raw, start=1):
        if banner_delim is not None:
            if banner_delim in line:
                banner_delim = None
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("!"):
            continue
        node = _IosNode(number, stripped)
        if line[0].isspace() and nodes:
            nodes[-1].children.append(node)
            continue
        nodes.append(node)
        banner_delim = _banner_delimiter(stripped)
    return nodes


_BANNER = re.compile(r"^banner\s+\S+\s+(\^C|\S)(.*)$")


def _banner_delimiter(text: str) -> str | None:
    """The delimiter still open after a `banner <kind> <delim>...` line, else None."""
    m = _BANNER.match(text)
    if not m:
        return None
    delim, rest = m.group(1), m.group(2)
    return None if delim in rest else delim


def _top(config: _IosConfig, prefix: str) -> list[_IosNode]:
    """Top-level nodes whose text starts with `prefix` (a whole word)."""
    word, _, rest = prefix.partition(" ")
    candidates = config.by_word.get(word, [])
    if not rest:
        return list(candidates)
    spaced = prefix + " "
    return [n for n in candidates if n.text == prefix or n.text.startswith(spaced)]


def parse_ios(text: str) -> NetworkConfigFacts:
    """Facts of one IOS running-config."""
    nodes = _ios_tree(text)
    unreadable: list[Unreadable] = []  # statements a check reads that could not be understood
    lines = tuple(_ios_terminal_line(n, unreadable) for n in nodes.by_word.get("line", ()) if n.text.startswith("line "))
    users = []
    for node in _top(nodes, "username"):
        if " " in node.text:
            users.append(_ios_user(node))
        else:  # a bare `username` names no one
            unreadable.append(Unreadable(node.line, "admin_account", "username without a name"))
    communities = []
    for node in _top(nodes, "snmp-server community"):
        if len(node.text.split()) > 2:
            communities.append(_ios_community(node))
        else:
            unreadable.append(Unreadable(node.line, "snmp_community", "snmp-server community without a community"))
    for node in _top(nodes, "snmp-server host"):
        community = _ios_host_community(node.text.split())
        if community is not None:  # a v1/v2c notification target names a community too
            communities.append(SnmpCommunity(community, "RO", None, (node.line,)))
    for node in _top(nodes, "enable secret"):
        if node.text == "enable secret":
            unreadable.append(Unreadable(node.line, "enable_secret", "enable secret without a secret"))
    aaa_new, aaa_login = _ios_aaa(nodes, lines, unreadable)
    acls = _ios_acls(nodes)
    groups = _inbound_groups(nodes, unreadable)
    ssh_versions = _ios_ssh(nodes, unreadable)
    snmp_v3 = _ios_snmp_v3(nodes, unreadable)
    ntp_servers = _ios_addresses(nodes, "ntp server", 2, unreadable, "ntp_server")
    syslog_hosts = _ios_syslog(nodes, unreadable)
    firewall_rules = _ios_firewall_rules(acls, groups, unreadable)
    if not _top(nodes, "hostname") and not lines:
        unreadable += _fragment_gaps(nodes)
    elif nodes.last("ip http server") is None and nodes.last("no ip http server") is None:
        # IOS prints the web server's state only against the platform's default, which differs
        # by platform and release (on in many ISR and Catalyst images): absence decides nothing.
        unreadable.append(Unreadable.absent("http_server", "no `ip http server` or `no ip http server` in this file; the default depends on the platform and release"))
    return NetworkConfigFacts(
        platform=Platform.CISCO_IOS.value,
        hostname=_ios_value(nodes, "hostname"),
        os_version=_ios_value(nodes, "version"),
        telnet_enabled=_ios_telnet(lines),
        ssh_versions=ssh_versions,
        snmp_communities=tuple(communities),
        snmp_v3=snmp_v3,
        ntp_servers=ntp_servers,
        syslog_hosts=syslog_hosts,
        aaa_new_model=aaa_new,
        aaa_login=aaa_login,
        enable_secret=_ios_present(nodes, "enable secret"),
        enable_password=_ios_present(nodes, "enable password"),
        admins=tuple(users),
        password_encryption=_ios_switch(nodes, "service password-encryption"),
        http_server=_ios_switch(nodes, "ip http server"),
        https_server=_ios_switch(nodes, "ip http secure-server"),
        terminal_lines=lines,
        mgmt_access=_ios_mgmt_access(nodes, lines, acls, unreadable) + _ios_snmp_access(nodes, acls, unreadable),
        session_timeouts=_ios_timeouts(lines),
        firewall_rules=firewall_rules,
        filtering=_ios_filtering(acls, groups),
        unreadable=tuple(sorted(unreadable, key=_line_number)) if unreadable else (),
    )


def _line_number(item: Unreadable) -> int:
    return item.line.number


# Every IOS running-config shows `hostname` and its `line` blocks; a file with neither is a pasted
# fragment, where IOS's defaults (Telnet on an unset vty, SSH 1.99, the HTTP server of some
# releases) are not evidence: each statement kind with the top-level statements that decide it
# (() = only `line` blocks, None = never provable from a fragment).
_FRAGMENT_KINDS: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("vty_transport", ()),
    ("vty_access_class", ()),
    ("session_timeout", ()),
    ("login_authentication", ()),
    ("ssh_version", ("ip ssh version",)),
    ("snmp_community", ("snmp-server",)),
    ("snmp_v3", ("snmp-server",)),
    ("ntp_server", ("ntp server",)),
    ("syslog_host", ("logging",)),
    ("aaa_login", ("aaa",)),
    ("enable_secret", ("enable",)),
    ("admin_account", ("username",)),
    ("http_server", ("ip http",)),
    ("acl_entry", ("access-list", "ip access-list", "ipv6 access-list")),
    ("acl_binding", ("interface",)),
    ("password_storage", None),
)
_FRAGMENT = "no `hostname` and no `line` blocks in this file: not a whole running-config (a fragment)"


def _fragment_gaps(nodes: _IosConfig) -> list[Unreadable]:
    gaps = []
    for kind, statements in _FRAGMENT_KINDS:
        if statements is None:
            gaps.append(Unreadable.absent(kind, f"{_FRAGMENT}, so a password kept in clear outside it cannot be ruled out"))
        elif not statements:
            gaps.append(Unreadable.absent(kind, f"{_FRAGMENT}, and no `line vty` in it"))
        elif not any(_top(nodes, statement) for statement in statements):
            gaps.append(Unreadable.absent(kind, f"{_FRAGMENT}, and no `{statements[0]}` in it"))
    return gaps


def _ios_value(nodes: _IosConfig, keyword: str) -> Fact[str | None]:
    found = _top(nodes, keyword)
    if not found:
        return Fact(None)
    return Fact(found[-1].text.split(maxsplit=1)[1] if " " in found[-1].text else "", (found[-1].line,))


def _ios_present(nodes: _IosConfig, prefix: str) -> Fact[bool | None]:
    found = _top(nodes, prefix)
    return Fact(bool(found), tuple(n.line for n in found))


def _ios_switch(nodes: _IosConfig, command: str) -> Fact[bool]:
    """A global on/off command: last of `command` / `no command` wins; absent means off."""
    on, off = nodes.last(command), nodes.last(f"no {command}")
    if on is None and off is None:
        return Fact(False)
    last = on if off is None or (on is not None and on.number > off.number) else off
    return Fact(not last.text.startswith("no "), (last.line,))


# `line console 0` is what IOS-XE accepts for `line con 0` (and shows as `line con 0`): same line.
_LINE_KINDS = {"console": "con"}


def _ios_terminal_line(node: _IosNode, unreadable: list[Unreadable]) -> TerminalLine:
    words = node.text.split()
    kind = words[1] if len(words) > 1 else ""
    kind = _LINE_KINDS.get(kind, kind)
    vty = kind == "vty"
    access_class = transport = timeout = login = ipv6_class = None
    no_exec = False
    evidence = [node.line]
    for number, text in node.child_lines():
        w = text.split()
        head = w[0]
        if head == "ipv6" and w[1:2] == ["access-class"]:
            if len(w) < 4 or w[3] != "in":
                continue
            ipv6_class = w[2]
        elif head == "access-class":
            if len(w) < 3 or w[2] != "in":
                if vty and len(w) < 3:
                    _skipped(unreadable, number, text, "vty_access_class", "access-class without an ACL and a direction")
                continue
            access_class = w[1]
        elif head == "transport":
            if len(w) < 2 or w[1] != "input":
                continue
            if vty and len(w) == 2:
                _skipped(unreadable, number, text, "vty_transport", "transport input without a protocol")
            transport = tuple(w[2:])
        elif head == "exec-timeout":
            if len(w) < 2:
                _skipped(unreadable, number, text, "session_timeout", "exec-timeout without a value")
                continue
            minutes, seconds = _ascii_int(w[1]), _ascii_int(w[2]) if len(w) > 2 else 0
            # Not a number IOS would accept: no valid timeout (NaN fails the timeout rule).
            timeout = math.nan if minutes is None or seconds is None else minutes + seconds / 60
            if minutes is None or seconds is None:
                _skipped(unreadable, number, text, "session_timeout", "exec-timeout with a value that is not a whole number")
        elif head == "login":
            if len(w) < 3 or w[1] != "authentication":
                if vty and w[1:] == ["authentication"]:
                    _skipped(unreadable, number, text, "login_authentication", "login authentication without a list name")
                continue
            login = w[2]
        elif head == "no":
            if len(w) < 2 or w[1] != "exec":
                continue
            no_exec = True
        else:
            continue
        evidence.append(ConfigLine(number, _ios_mask(text)))
    return TerminalLine(" ".join(words[1:]), kind, access_class, transport, timeout, no_exec, login, tuple(evidence), ipv6_class)


def _skipped(unreadable: list[Unreadable], number: int, text: str, kind: str, reason: str) -> None:
    unreadable.append(Unreadable(ConfigLine(number, _ios_mask(text)), kind, reason))


def _vty(lines: tuple[TerminalLine, ...]) -> list[TerminalLine]:
    return [ln for ln in lines if ln.kind == "vty"]


def _telnet_allowed(line: TerminalLine) -> bool:
    """Telnet reaches this line: `transport input` unset, `all` or listing telnet."""
    return line.transport_input is None or bool({"telnet", "all"} & set(line.transport_input))


def _ios_telnet(lines: tuple[TerminalLine, ...]) -> Fact[bool]:
    vty = _vty(lines)
    open_lines = [ln for ln in vty if _telnet_allowed(ln)]
    shown = open_lines or vty
    return Fact(bool(open_lines), tuple(e for ln in shown for e in _transport_evidence(ln)))


def _transport_evidence(line: TerminalLine) -> Evidence:
    return tuple(e for e in line.evidence if e.text.startswith(("line ", "transport input")))


def _ios_ssh(nodes: _IosConfig, unreadable: list[Unreadable]) -> Fact[tuple[int, ...]]:
    found = _top(nodes, "ip ssh version")
    if not found:
        return Fact((1, 2))  # IOS default: SSH 1.99, accepts v1 clients
    version = _ascii_int(found[-1].text.split()[-1])
    if version is None:  # not a version IOS accepts: it keeps its default, v1 included
        unreadable.append(Unreadable(found[-1].line, "ssh_version", "ip ssh version without a version number"))
        return Fact((1, 2), (found[-1].line,))
    return Fact((version,), (found[-1].line,))


def _ios_community(node: _IosNode) -> SnmpCommunity:
    words = node.text.split()
    access: Literal["RO", "RW"] = "RW" if "RW" in words[3:] else "RO"
    rest = [w for w in words[3:] if w not in ("RO", "RW")]
    if rest[:1] == ["view"]:
        rest = rest[2:]
    return SnmpCommunity(words[2], access, rest[0] if rest else None, (node.line,))


def _ios_host_community(words: list[str]) -> str | None:
    """The community of `snmp-server host ADDR [vrf V] [traps|informs] [version 1|2c|3 LEVEL] NAME ...`;
    None for an SNMPv3 target (NAME is then a v3 user) or a line without one."""
    rest = words[3:]
    if rest[:1] == ["vrf"]:
        rest = rest[2:]
    if rest[:1] in (["traps"], ["informs"]):
        rest = rest[1:]
    if rest[:1] == ["version"]:
        if rest[1:2] == ["3"]:
            return None
        rest = rest[2:]
    return rest[0] if rest else None


def _ios_snmp_v3(nodes: _IosConfig, unreadable: list[Unreadable]) -> tuple[SnmpV3Principal, ...]:
    found: list[SnmpV3Principal] = []
    for node in _top(nodes, "snmp-server group"):
        w = node.text.split()
        if len(w) == 4 and w[3] == "v3":
            unreadable.append(Unreadable(node.line, "snmp_v3", "snmp-server group v3 without a security level"))
        elif len(w) >= 5 and w[3] == "v3":
            level: SecurityLevel = w[4] if w[4] in ("noauth", "auth", "priv") else "noauth"  # type: ignore[assignment]
            found.append(SnmpV3Principal("group", w[2], level, (node.line,)))
    for node in _top(nodes, "snmp-server user"):
        w = node.text.split()
        if "v3" in w:
            level = "priv" if "priv" in w else "auth" if "auth" in w else "noauth"
            found.append(SnmpV3Principal("user", w[2], level, (node.line,)))
    return tuple(found)


def _ios_addresses(nodes: _IosConfig, prefix: str, index: int, unreadable: list[Unreadable], kind: str) -> Fact[tuple[str, ...]]:
    """Addresses from `prefix [vrf NAME] ADDR ...` lines (e.g. ntp server)."""
    addrs: list[str] = []
    evidence: list[ConfigLine] = []
    for node in _top(nodes, prefix):
        w = node.text.split()[index:]
        if w[:1] == ["vrf"]:
            w = w[2:]
        if w:
            addrs.append(w[0])
            evidence.append(node.line)
        else:
            unreadable.append(Unreadable(node.line, kind, f"{prefix} without an address"))
    return Fact(tuple(addrs), tuple(evidence))


def _ios_syslog(nodes: _IosConfig, unreadable: list[Unreadable]) -> Fact[tuple[str, ...]]:
    """`logging host ADDR` and the older `logging ADDR` form."""
    hosts = _ios_addresses(nodes, "logging host", 2, unreadable, "syslog_host")
    addrs, evidence = list(hosts.value), list(hosts.evidence)
    for node in _top(nodes, "logging"):
        w = node.text.split()
        if len(w) == 2 and _IPV4.match(w[1]):
            addrs.append(w[1])
            evidence.append(node.line)
    order = sorted(range(len(addrs)), key=lambda i: evidence[i].number)
    off = _top(nodes, "no logging on")
    if off:  # logging switched off altogether: no host receives anything, whatever is listed
        return Fact((), tuple(n.line for n in off) + tuple(evidence[i] for i in order))
    return Fact(tuple(addrs[i] for i in order), tuple(evidence[i] for i in order))


def _ios_aaa(nodes: _IosConfig, lines: tuple[TerminalLine, ...], unreadable: list[Unreadable]) -> tuple[Fact[bool | None], Fact[bool]]:
    """`aaa new-model`, and whether every vty login uses a defined `aaa authentication login` list."""
    new_model = _ios_switch(nodes, "aaa new-model")
    sdwan = _top(nodes, "sdwan")
    if not new_model.evidence and sdwan and _top(nodes, "system"):
        # IOS-XE SD-WAN (controller mode) runs AAA without showing `aaa new-model`: its `aaa`
        # statements only exist there. The `sdwan` section says which mode this is.
        new_model = Fact(True, (sdwan[0].line,))
    login_lists = _top(nodes, "aaa authentication login")
    defined = set()
    for node in login_lists:
        w = node.text.split()
        if len(w) > 3:
            defined.add(w[3])
        else:
            unreadable.append(Unreadable(node.line, "aaa_login", "aaa authentication login without a list name"))
    used = [(ln, ln.login_authentication or "default") for ln in _vty(lines)]
    refs = tuple(e for ln, _ in used for e in ln.evidence if e.text.startswith("login authentication"))
    ok = new_model.value and bool(defined) and all(name in defined for _, name in used)
    evidence = new_model.evidence + tuple(n.line for n in login_lists) + refs
    return Fact(new_model.value, new_model.evidence), Fact(bool(ok), evidence)


def _ios_user(node: _IosNode) -> AdminAccount:
    w = node.text.split()
    raw = node.line.text.split()
    kind: SecretKind = "none"
    if "secret" in raw:
        kind = "hashed"
    elif "password" in raw:
        i = raw.index("password")
        kind = "reversible" if raw[i + 1 : i + 2] == ["7"] else "plaintext"
    after = w[w.index("privilege") + 1 :] if "privilege" in w else []
    privilege = after[0] if after else None
    return AdminAccount(w[1], kind, privilege, (), (node.line,))


def _ios_mgmt_access(nodes: _IosConfig, lines: tuple[TerminalLine, ...], acls: dict[str, _Acl], unreadable: list[Unreadable]) -> tuple[MgmtAccess, ...]:
    """vty lines (remote CLI) and, when on, the HTTP(S) server. An access-class restricts only
    by its content: an ACL that is not defined (IOS then lets everyone in) or that permits any
    source restricts nothing."""
    found = []
    ipv6_on = _ipv6_enabled(nodes)
    for ln in _vty(lines):
        closed = ln.transport_input == ("none",)
        ev = tuple(e for e in ln.evidence if e.text.startswith(("line ", "access-class", "ipv6 access-class", "transport input")))
        if ln.access_class:
            restricted, why, acl_lines = _acl_restricts(acls.get(ln.access_class), unreadable)
            detail = f"access-class {ln.access_class} in" + why
            if restricted and ln.ipv6_access_class:  # IPv6 sessions pass the IPv6 class only
                restricted, why6, more = _acl_restricts(acls.get(f"ipv6 {ln.ipv6_access_class}"), unreadable)
                detail, acl_lines = f"{detail}; ipv6 access-class {ln.ipv6_access_class} in{why6}", acl_lines + more
            elif restricted and ipv6_on is not None:
                restricted, detail, acl_lines = False, f"{detail}; no ipv6 access-class while IPv6 is on", acl_lines + (ipv6_on,)
            found.append(MgmtAccess(f"line {ln.name}", restricted or closed, detail, ev + acl_lines))
            continue
        found.append(MgmtAccess(f"line {ln.name}", closed, "transport input none" if closed else "no access-class", ev))
    web = [n for n in nodes.by_word.get("ip", ()) if n.text in ("ip http server", "ip http secure-server")]
    if web:
        acl = _top(nodes, "ip http access-class")
        if not acl:
            found.append(MgmtAccess("ip http", False, "no ip http access-class", tuple(n.line for n in web)))
        else:
            words = acl[-1].text.split()
            name = words[-1] if len(words) > 3 else None
            restricted, why, acl_lines = _acl_restricts(acls.get(name) if name else None, unreadable)
            found.append(MgmtAccess("ip http", restricted, acl[-1].text + why, tuple(n.line for n in web + acl) + acl_lines))
    return tuple(found)


def _ipv6_enabled(nodes: _IosConfig) -> ConfigLine | None:
    """The first line that turns IPv6 on (`ipv6 unicast-routing`, an interface's `ipv6 address` or
    `ipv6 enable`): a vty restricted for IPv4 alone is then open to IPv6 sources."""
    routing = nodes.last("ipv6 unicast-routing")
    if routing is not None:
        return routing.line
    for node in nodes.by_word.get("interface", ()):
        for child in node.children_with("ipv6 "):
            if child.text.startswith(("ipv6 address", "ipv6 enable")):
                return child.line
    return None


def _ios_snmp_access(nodes: _IosConfig, acls: dict[str, _Acl], unreadable: list[Unreadable]) -> tuple[MgmtAccess, ...]:
    """v1/v2c communities answer whoever knows them unless an ACL that restricts the source is
    named: `snmp-server community NAME [view V] RO|RW [ipv6 ACL6] [ACL]` (ACL content read like
    an access-class's; an IPv6 ACL, when named, must restrict too)."""
    found = []
    for node in _top(nodes, "snmp-server community"):
        words = node.text.split()
        if len(words) < 3:
            continue  # reported as unreadable with the communities
        shown = words[2] if words[2].lower() in WELL_KNOWN_COMMUNITIES else MASK
        rest = [w for w in words[3:] if w not in ("RO", "RW", "ro", "rw")]
        if rest[:1] == ["view"]:
            rest = rest[2:]
        v6 = rest[rest.index("ipv6") + 1] if "ipv6" in rest[:-1] else None
        v4 = next((w for i, w in enumerate(rest) if w != "ipv6" and (i == 0 or rest[i - 1] != "ipv6")), None)
        name = f"snmp-server community {shown}"
        if v4 is None:
            found.append(MgmtAccess(name, False, "no ACL", (node.line,)))
            continue
        restricted, why, acl_lines = _acl_restricts(acls.get(v4), unreadable)
        if restricted and v6 is not None:
            restricted, why6, more = _acl_restricts(acls.get(f"ipv6 {v6}"), unreadable)
            why, acl_lines = why6, acl_lines + more
        found.append(MgmtAccess(name, restricted, f"ACL {v4}" + why, (node.line, *acl_lines)))
    return tuple(found)


def _acl_restricts(acl: _Acl | None, unreadable: list[Unreadable]) -> tuple[bool, str, tuple[ConfigLine, ...]]:
    """(restricts the source?, what to add to the detail, the ACL lines that decide)."""
    if acl is None:
        return False, ", an ACL that is not defined", ()
    scratch: list[Unreadable] = []
    entries = [_ace(acl, raw, line, scratch) for raw, line in acl.entries()]
    unreadable.extend(Unreadable(u.line, "vty_access_class", u.reason) for u in scratch)
    wide = [e for e in entries if e.action == "accept" and e.src_any]
    if wide:
        return False, ", which permits any source", tuple(e.evidence[0] for e in wide)
    return True, "", ()


def _ios_timeouts(lines: tuple[TerminalLine, ...]) -> tuple[SessionTimeout, ...]:
    """Console and vty exec timeouts (aux with `no exec` has no session)."""
    found = []
    for ln in lines:
        if ln.kind not in ("con", "vty") and (ln.exec_disabled or ln.kind != "aux"):
            continue
        ev = tuple(e for e in ln.evidence if e.text.startswith(("line ", "exec-timeout")))
        explicit = ln.exec_timeout_minutes is not None
        minutes = ln.exec_timeout_minutes if ln.exec_timeout_minutes is not None else 10.0
        found.append(SessionTimeout(f"line {ln.name}", minutes, explicit, ev))
    return tuple(found)


class _Acl:
    """An ACL: its entries are read (split, masked) only if a firewall rule needs them."""

    __slots__ = ("name", "standard", "node", "numbered")

    def __init__(self, name: str, standard: bool, node: _IosNode | None) -> None:
        self.name = name
        self.standard = standard
        self.node = node  # `ip access-list` block, whose children are the entries
        self.numbered: list[tuple[str, _IosNode]] = []  # (entry text, line) of `access-list N ...`

    def entries(self) -> list[tuple[str, ConfigLine]]:
        """(entry text, masked line), in order."""
        body = [] if self.node is None else [(c.text, c.line) for c in self.node.children if c.text.split()[0] != "remark"]
        return body + [(raw, node.line) for raw, node in self.numbered]


def _ios_acls(nodes: _IosConfig) -> dict[str, _Acl]:
    """ACL name -> entries, for named (`ip access-list`) and numbered (`access-list N`) ACLs."""
    acls: dict[str, _Acl] = {}
    for node in _top(nodes, "ip access-list"):
        w = node.text.split()
        if len(w) < 3 or (len(w) == 3 and w[2] in ("extended", "standard")):
            continue  # no ACL name
        named = len(w) > 3 and w[2] in ("extended", "standard")
        name = w[3] if named else w[2]
        acls[name] = _Acl(name, w[2] == "standard", node)
    for node in _top(nodes, "ipv6 access-list"):  # a namespace of its own: keyed "ipv6 NAME"
        w = node.text.split()
        if len(w) > 2:
            acls[f"ipv6 {w[2]}"] = _Acl(w[2], False, node)
    for node in _top(nodes, "access-list"):
        w = node.text.split()
        if len(w) > 2 and w[2] != "remark":
            number = int(w[1]) if w[1].isdigit() else 0
            acl = acls.get(w[1])
            if acl is None:
                acl = acls[w[1]] = _Acl(w[1], number < 100 or 1300 <= number < 2000, None)
            acl.numbered.append((" ".join(w[2:]), node))
    return acls


def _inbound_groups(nodes: _IosConfig, unreadable: list[Unreadable]) -> list[tuple[str, ConfigLine, ConfigLine]]:
    """(ACL name, interface line, access-group line) for each `ip access-group X in`."""
    found = []
    for node in _top(nodes, "interface"):
        for child in node.children_with("access-group"):
            w = child.text.split()
            if w[:2] == ["ip", "access-group"]:
                if len(w) >= 4 and w[3] == "in":
                    found.append((w[2], node.line, child.line))
                elif len(w) < 4:
                    unreadable.append(Unreadable(child.line, "acl_binding", "ip access-group without an ACL and a direction"))
    return found


def _ios_firewall_rules(acls: dict[str, _Acl], groups: list[tuple[str, ConfigLine, ConfigLine]], unreadable: list[Unreadable]) -> tuple[FirewallRule, ...]:
    """Entries of the ACLs applied inbound on interfaces, in ACL order."""
    rules: list[FirewallRule] = []
    for name in dict.fromkeys(acl for acl, _, _ in groups):
        acl = acls.get(name)
        if acl:
            rules.extend(_ace(acl, raw, line, unreadable) for raw, line in acl.entries())
    return tuple(rules)


def _ace(acl: _Acl, raw: str, line: ConfigLine, unreadable: list[Unreadable]) -> FirewallRule:
    """One ACL entry: `[seq] permit|deny [proto] src [ports] [dst [ports]] ...`."""
    w = raw.split()
    if w and w[0].isdigit():
        w = w[1:]
    action: Literal["accept", "deny"] = "accept" if w[:1] == ["permit"] else "deny"
    if len(w) < 2:
        # An action with nothing it applies to (or a bare sequence number): not an entry IOS
        # would take. Read it as the widest match, so it can only make the firewall rule fail.
        unreadable.append(Unreadable(line, "acl_entry", "ACL entry without the traffic it matches"))
        return FirewallRule(f"acl {acl.name}", action, True, True, True, True, (line,))
    if len(w) < 4 and not acl.standard and w[0] in ("permit", "deny"):
        unreadable.append(Unreadable(line, "acl_entry", "extended ACL entry without a protocol, source and destination"))
    if acl.standard:
        return FirewallRule(f"acl {acl.name}", action, w[1:2] == ["any"], True, True, True, (line,))
    proto, rest = w[1], w[2:]
    src_any, rest = _addr_any(rest)
    dst_any, _ = _addr_any(_skip_ports(rest))
    return FirewallRule(f"acl {acl.name}", action, src_any, dst_any, proto == "ip", True, (line,))


def _addr_any(words: list[str]) -> tuple[bool, list[str]]:
    """Consume one address spec: any | host X | X wildcard | object-group N."""
    if not words:
        return False, words
    if words[0] == "any":
        return True, words[1:]
    return False, words[2:]


def _skip_ports(words: list[str]) -> list[str]:
    if words[:1] and words[0] in ("eq", "gt", "lt", "neq"):
        return words[2:]
    if words[:1] == ["range"]:
        return words[3:]
    return words


def _ios_filtering(defined: dict[str, _Acl], groups: list[tuple[str, ConfigLine, ConfigLine]]) -> Fact[bool]:
    """An inbound ACL that exists is applied on at least one interface."""
    applied = [(acl, iface, grp) for acl, iface, grp in groups if acl in defined]
    evidence = tuple(e for _, iface, grp in applied for e in (iface, grp))
    return Fact(bool(applied), evidence)
