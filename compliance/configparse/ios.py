"""Cisco IOS 12.x/15.x running-config: top-level commands with indented children."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from compliance.configparse.facts import (
    MASK,
    WELL_KNOWN_COMMUNITIES,
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
)

_IOS_SECRETS = (
    re.compile(r"^(enable (?:secret|password)(?: level \d+)?(?: \d)?) \S+"),
    re.compile(r"^(username \S+ .*?(?:secret|password)(?: \d)?) \S+"),
    re.compile(r"^((?:password|key)(?: \d)?) \S+"),
    re.compile(r"^((?:tacacs-server|radius-server) key(?: \d)?) \S+"),
    re.compile(r"^(ntp authentication-key \d+ md5) \S+"),
    re.compile(r"^(crypto isakmp key(?: \d)?) \S+"),
)
_IOS_SNMP_KEYS = re.compile(r"\b((?:auth (?:md5|sha\S*))|(?:priv (?:des|3des|aes(?: \d+)?))) \S+")
_IOS_COMMUNITY = re.compile(r"^(snmp-server community)\s+(\S+)")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


@dataclass
class _IosNode:
    """A config line (raw text for parsing, masked `line` for evidence) and its indented children."""

    text: str
    line: ConfigLine
    children: list["_IosNode"] = field(default_factory=list)


def _ios_mask(text: str) -> str:
    """Mask passwords, keys and non-default communities in one IOS line."""
    m = _IOS_COMMUNITY.match(text)
    if m:
        keep = m.group(2).lower() in WELL_KNOWN_COMMUNITIES
        return text if keep else f"{m.group(1)} {MASK}{text[m.end():]}"
    if text.startswith("snmp-server user"):
        return _IOS_SNMP_KEYS.sub(lambda k: f"{k.group(1)} {MASK}", text)
    for pattern in _IOS_SECRETS:
        if pattern.match(text):
            return pattern.sub(lambda k: f"{k.group(1)} {MASK}", text, count=1)
    return text


def _ios_tree(text: str) -> list[_IosNode]:
    """Top-level commands with their indented children; comments and banner bodies skipped."""
    nodes: list[_IosNode] = []
    banner_delim: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if banner_delim is not None:
            if banner_delim in raw:
                banner_delim = None
            continue
        stripped = raw.strip()
        if not stripped or stripped.startswith("!"):
            continue
        node = _IosNode(stripped, ConfigLine(number, _ios_mask(stripped)))
        if raw[0].isspace() and nodes:
            nodes[-1].children.append(node)
            continue
        nodes.append(node)
        banner_delim = _banner_delimiter(stripped)
    return nodes


def _banner_delimiter(text: str) -> str | None:
    """The delimiter still open after a `banner <kind> <delim>...` line, else None."""
    m = re.match(r"^banner\s+\S+\s+(\^C|\S)(.*)$", text)
    if not m:
        return None
    delim, rest = m.group(1), m.group(2)
    return None if delim in rest else delim


def _top(nodes: list[_IosNode], prefix: str) -> list[_IosNode]:
    """Top-level nodes whose text starts with `prefix` (a whole word)."""
    return [n for n in nodes if n.text == prefix or n.text.startswith(prefix + " ")]


def parse_ios(text: str) -> NetworkConfigFacts:
    """Facts of one IOS running-config."""
    nodes = _ios_tree(text)
    lines = tuple(_ios_terminal_line(n) for n in nodes if n.text.startswith("line "))
    users = tuple(_ios_user(n) for n in _top(nodes, "username"))
    aaa_new, aaa_login = _ios_aaa(nodes, lines)
    return NetworkConfigFacts(
        platform="cisco_ios",
        hostname=_ios_value(nodes, "hostname"),
        os_version=_ios_value(nodes, "version"),
        telnet_enabled=_ios_telnet(lines),
        ssh_versions=_ios_ssh(nodes),
        snmp_communities=tuple(_ios_community(n) for n in _top(nodes, "snmp-server community")),
        snmp_v3=_ios_snmp_v3(nodes),
        ntp_servers=_ios_addresses(nodes, "ntp server", 2),
        syslog_hosts=_ios_syslog(nodes),
        aaa_new_model=aaa_new,
        aaa_login=aaa_login,
        enable_secret=_ios_present(nodes, "enable secret"),
        enable_password=_ios_present(nodes, "enable password"),
        admins=users,
        password_encryption=_ios_switch(nodes, "service password-encryption"),
        http_server=_ios_switch(nodes, "ip http server"),
        https_server=_ios_switch(nodes, "ip http secure-server"),
        terminal_lines=lines,
        mgmt_access=_ios_mgmt_access(nodes, lines),
        session_timeouts=_ios_timeouts(lines),
        firewall_rules=_ios_firewall_rules(nodes),
        filtering=_ios_filtering(nodes),
    )


def _ios_value(nodes: list[_IosNode], keyword: str) -> Fact[str | None]:
    found = _top(nodes, keyword)
    if not found:
        return Fact(None)
    return Fact(found[-1].text.split(maxsplit=1)[1] if " " in found[-1].text else "", (found[-1].line,))


def _ios_present(nodes: list[_IosNode], prefix: str) -> Fact[bool | None]:
    found = _top(nodes, prefix)
    return Fact(bool(found), tuple(n.line for n in found))


def _ios_switch(nodes: list[_IosNode], command: str) -> Fact[bool]:
    """A global on/off command: last of `command` / `no command` wins; absent means off."""
    found = [n for n in nodes if n.text in (command, f"no {command}")]
    if not found:
        return Fact(False)
    return Fact(not found[-1].text.startswith("no "), (found[-1].line,))


def _ios_terminal_line(node: _IosNode) -> TerminalLine:
    words = node.text.split()
    kind = words[1] if len(words) > 1 else ""
    access_class = transport = timeout = login = None
    no_exec = False
    evidence = [node.line]
    for child in node.children:
        w = child.text.split()
        if w[0] == "access-class" and len(w) >= 3 and w[2] == "in":
            access_class = w[1]
        elif w[:2] == ["transport", "input"]:
            transport = tuple(w[2:])
        elif w[0] == "exec-timeout" and len(w) >= 2:
            timeout = int(w[1]) + (int(w[2]) / 60 if len(w) > 2 else 0)
        elif w[:2] == ["login", "authentication"] and len(w) >= 3:
            login = w[2]
        elif w[:2] == ["no", "exec"]:
            no_exec = True
        else:
            continue
        evidence.append(child.line)
    return TerminalLine(" ".join(words[1:]), kind, access_class, transport, timeout, no_exec, login, tuple(evidence))


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


def _ios_ssh(nodes: list[_IosNode]) -> Fact[tuple[int, ...]]:
    found = _top(nodes, "ip ssh version")
    if not found:
        return Fact((1, 2))  # IOS default: SSH 1.99, accepts v1 clients
    version = int(found[-1].text.split()[-1])
    return Fact((version,), (found[-1].line,))


def _ios_community(node: _IosNode) -> SnmpCommunity:
    words = node.text.split()
    access: Literal["RO", "RW"] = "RW" if "RW" in words[3:] else "RO"
    rest = [w for w in words[3:] if w not in ("RO", "RW")]
    if rest[:1] == ["view"]:
        rest = rest[2:]
    return SnmpCommunity(words[2], access, rest[0] if rest else None, (node.line,))


def _ios_snmp_v3(nodes: list[_IosNode]) -> tuple[SnmpV3Principal, ...]:
    found: list[SnmpV3Principal] = []
    for node in _top(nodes, "snmp-server group"):
        w = node.text.split()
        if len(w) >= 5 and w[3] == "v3":
            level: SecurityLevel = w[4] if w[4] in ("noauth", "auth", "priv") else "noauth"  # type: ignore[assignment]
            found.append(SnmpV3Principal("group", w[2], level, (node.line,)))
    for node in _top(nodes, "snmp-server user"):
        w = node.text.split()
        if "v3" in w:
            level = "priv" if "priv" in w else "auth" if "auth" in w else "noauth"
            found.append(SnmpV3Principal("user", w[2], level, (node.line,)))
    return tuple(found)


def _ios_addresses(nodes: list[_IosNode], prefix: str, index: int) -> Fact[tuple[str, ...]]:
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
    return Fact(tuple(addrs), tuple(evidence))


def _ios_syslog(nodes: list[_IosNode]) -> Fact[tuple[str, ...]]:
    """`logging host ADDR` and the older `logging ADDR` form."""
    hosts = _ios_addresses(nodes, "logging host", 2)
    addrs, evidence = list(hosts.value), list(hosts.evidence)
    for node in _top(nodes, "logging"):
        w = node.text.split()
        if len(w) == 2 and _IPV4.match(w[1]):
            addrs.append(w[1])
            evidence.append(node.line)
    order = sorted(range(len(addrs)), key=lambda i: evidence[i].number)
    return Fact(tuple(addrs[i] for i in order), tuple(evidence[i] for i in order))


def _ios_aaa(nodes: list[_IosNode], lines: tuple[TerminalLine, ...]) -> tuple[Fact[bool | None], Fact[bool]]:
    """`aaa new-model`, and whether every vty login uses a defined `aaa authentication login` list."""
    new_model = _ios_switch(nodes, "aaa new-model")
    login_lists = _top(nodes, "aaa authentication login")
    defined = {n.text.split()[3] for n in login_lists if len(n.text.split()) > 3}
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
    privilege = w[w.index("privilege") + 1] if "privilege" in w else None
    return AdminAccount(w[1], kind, privilege, (), (node.line,))


def _ios_mgmt_access(nodes: list[_IosNode], lines: tuple[TerminalLine, ...]) -> tuple[MgmtAccess, ...]:
    """vty lines (remote CLI) and, when on, the HTTP(S) server."""
    found = []
    for ln in _vty(lines):
        closed = ln.transport_input == ("none",)
        detail = f"access-class {ln.access_class} in" if ln.access_class else "transport input none" if closed else "no access-class"
        ev = tuple(e for e in ln.evidence if e.text.startswith(("line ", "access-class", "transport input")))
        found.append(MgmtAccess(f"line {ln.name}", bool(ln.access_class) or closed, detail, ev))
    web = [n for n in nodes if n.text in ("ip http server", "ip http secure-server")]
    if web:
        acl = _top(nodes, "ip http access-class")
        detail = acl[-1].text if acl else "no ip http access-class"
        found.append(MgmtAccess("ip http", bool(acl), detail, tuple(n.line for n in web + acl)))
    return tuple(found)


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


@dataclass(frozen=True)
class _Acl:
    name: str
    standard: bool
    entries: tuple[ConfigLine, ...]  # masked lines; ACLs hold no secrets
    raw: tuple[str, ...]


def _ios_acls(nodes: list[_IosNode]) -> dict[str, _Acl]:
    """ACL name -> entries, for named (`ip access-list`) and numbered (`access-list N`) ACLs."""
    acls: dict[str, _Acl] = {}
    for node in _top(nodes, "ip access-list"):
        w = node.text.split()
        named = len(w) > 3 and w[2] in ("extended", "standard")
        name = w[3] if named else w[2]
        body = [c for c in node.children if c.text.split()[0] != "remark"]
        acls[name] = _Acl(name, w[2] == "standard", tuple(c.line for c in body), tuple(c.text for c in body))
    for node in _top(nodes, "access-list"):
        w = node.text.split()
        if len(w) > 2 and w[2] != "remark":
            number = int(w[1]) if w[1].isdigit() else 0
            old = acls.get(w[1], _Acl(w[1], number < 100 or 1300 <= number < 2000, (), ()))
            acls[w[1]] = _Acl(old.name, old.standard, old.entries + (node.line,), old.raw + (" ".join(w[2:]),))
    return acls


def _inbound_groups(nodes: list[_IosNode]) -> list[tuple[str, ConfigLine, ConfigLine]]:
    """(ACL name, interface line, access-group line) for each `ip access-group X in`."""
    found = []
    for node in _top(nodes, "interface"):
        for child in node.children:
            w = child.text.split()
            if w[:2] == ["ip", "access-group"] and len(w) >= 4 and w[3] == "in":
                found.append((w[2], node.line, child.line))
    return found


def _ios_firewall_rules(nodes: list[_IosNode]) -> tuple[FirewallRule, ...]:
    """Entries of the ACLs applied inbound on interfaces, in ACL order."""
    acls = _ios_acls(nodes)
    rules: list[FirewallRule] = []
    for name in dict.fromkeys(acl for acl, _, _ in _inbound_groups(nodes)):
        acl = acls.get(name)
        if acl:
            rules.extend(_ace(acl, raw, line) for raw, line in zip(acl.raw, acl.entries))
    return tuple(rules)


def _ace(acl: _Acl, raw: str, line: ConfigLine) -> FirewallRule:
    """One ACL entry: `[seq] permit|deny [proto] src [ports] [dst [ports]] ...`."""
    w = raw.split()
    if w and w[0].isdigit():
        w = w[1:]
    action: Literal["accept", "deny"] = "accept" if w[0] == "permit" else "deny"
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


def _ios_filtering(nodes: list[_IosNode]) -> Fact[bool]:
    """An inbound ACL that exists is applied on at least one interface."""
    groups = _inbound_groups(nodes)
    defined = _ios_acls(nodes)
    applied = [(acl, iface, grp) for acl, iface, grp in groups if acl in defined]
    evidence = tuple(e for _, iface, grp in applied for e in (iface, grp))
    return Fact(bool(applied), evidence)
