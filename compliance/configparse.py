"""Parse a running-config into platform-neutral, typed facts with the config lines behind each one.

Two platforms (netmiko device_type names):
- "cisco_ios": IOS 12.x/15.x indentation syntax (top-level commands, indented children).
- "fortinet": FortiOS `config ... / edit ... / set ... / next / end` blocks, VDOM-wrapped or not.

Platform differences end here: the checks only read `NetworkConfigFacts`. A fact the platform has
no notion of is None (e.g. Cisco's "enable secret" on FortiOS). Evidence lines carry their 1-based
line number; secrets and non-default SNMP communities are masked in the evidence text.

    >>> facts = parse_config("hostname sw1\\nip ssh version 2\\n", "cisco_ios")
    >>> facts.ssh_versions.value, [str(e) for e in facts.ssh_versions.evidence]
    ((2,), ['2: ip ssh version 2'])
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Generic, Iterator, Literal, TypeVar

T = TypeVar("T")

PLATFORMS = ("cisco_ios", "fortinet")
# Community names shown as-is in evidence; any other community is a secret and is masked.
WELL_KNOWN_COMMUNITIES = frozenset({"public", "private"})
MASK = "<redacted>"

SecurityLevel = Literal["noauth", "auth", "priv"]
SecretKind = Literal["hashed", "reversible", "plaintext", "none"]


class UnsupportedPlatformError(ValueError):
    """The platform name is not one this module can parse."""


@dataclass(frozen=True)
class ConfigLine:
    """One line of the config: 1-based number and text (indentation stripped, secrets masked)."""

    number: int
    text: str

    def __str__(self) -> str:
        return f"{self.number}: {self.text}"


Evidence = tuple[ConfigLine, ...]


@dataclass(frozen=True)
class Fact(Generic[T]):
    """A value read from the config and the lines it was read from (empty when defaulted)."""

    value: T
    evidence: Evidence = ()


@dataclass(frozen=True)
class SnmpCommunity:
    """An SNMP v1/v2c community."""

    name: str
    access: Literal["RO", "RW"]
    acl: str | None
    evidence: Evidence


@dataclass(frozen=True)
class SnmpV3Principal:
    """An SNMPv3 group (Cisco) or user (FortiOS) with its security level."""

    kind: Literal["group", "user"]
    name: str
    security_level: SecurityLevel
    evidence: Evidence


@dataclass(frozen=True)
class TerminalLine:
    """A Cisco `line con|aux|vty` block."""

    name: str  # "vty 0 4"
    kind: str  # "con", "aux", "vty", "tty"
    access_class: str | None  # inbound access-class
    transport_input: tuple[str, ...] | None  # None when not set (platform default)
    exec_timeout_minutes: float | None  # None when not set (IOS default 10)
    exec_disabled: bool  # `no exec`
    login_authentication: str | None
    evidence: Evidence


@dataclass(frozen=True)
class AdminAccount:
    """A local administrator: Cisco `username`, FortiOS `config system admin` entry."""

    name: str
    secret: SecretKind
    profile: str | None  # privilege level or FortiOS accprofile
    trusted_hosts: tuple[str, ...]  # FortiOS trusthostN values other than 0.0.0.0/0
    evidence: Evidence


@dataclass(frozen=True)
class MgmtAccess:
    """One way to reach the management plane, and whether a source-address filter guards it."""

    name: str
    restricted: bool
    detail: str
    evidence: Evidence


@dataclass(frozen=True)
class SessionTimeout:
    """Idle timeout of an interactive session; 0 minutes means never."""

    name: str
    minutes: float
    explicit: bool
    evidence: Evidence


@dataclass(frozen=True)
class FirewallRule:
    """A FortiOS policy or an entry of a Cisco ACL applied inbound on an interface."""

    name: str
    action: Literal["accept", "deny"]
    src_any: bool
    dst_any: bool
    service_any: bool
    enabled: bool
    evidence: Evidence

    @property
    def allows_everything(self) -> bool:
        """An enabled any/any/any accept: it voids the default deny."""
        return self.enabled and self.action == "accept" and self.src_any and self.dst_any and self.service_any


@dataclass(frozen=True)
class NetworkConfigFacts:
    """Everything the network_config checks need, read from one running-config."""

    platform: str
    hostname: Fact[str | None]
    os_version: Fact[str | None]
    telnet_enabled: Fact[bool]
    ssh_versions: Fact[tuple[int, ...]]
    snmp_communities: tuple[SnmpCommunity, ...]
    snmp_v3: tuple[SnmpV3Principal, ...]
    ntp_servers: Fact[tuple[str, ...]]
    syslog_hosts: Fact[tuple[str, ...]]
    aaa_new_model: Fact[bool | None]
    aaa_login: Fact[bool]
    enable_secret: Fact[bool | None]
    enable_password: Fact[bool | None]
    admins: tuple[AdminAccount, ...]
    password_encryption: Fact[bool]
    http_server: Fact[bool]
    https_server: Fact[bool]
    terminal_lines: tuple[TerminalLine, ...]
    mgmt_access: tuple[MgmtAccess, ...]
    session_timeouts: tuple[SessionTimeout, ...]
    firewall_rules: tuple[FirewallRule, ...]
    filtering: Fact[bool]  # a filtering policy is applied to forwarded traffic
    notes: tuple[str, ...] = field(default=())


def parse_config(text: str, platform: str) -> NetworkConfigFacts:
    """Parse `text` as a running-config of `platform` ("cisco_ios" or "fortinet")."""
    if platform == "cisco_ios":
        return _parse_ios(text)
    if platform == "fortinet":
        return _parse_fortios(text)
    raise UnsupportedPlatformError(f"unsupported platform {platform!r}; expected one of {PLATFORMS}")


# --------------------------------------------------------------------------------------------
# Cisco IOS
# --------------------------------------------------------------------------------------------

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


def _parse_ios(text: str) -> NetworkConfigFacts:
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
        firewall_rules=(rules := _ios_firewall_rules(nodes)),
        filtering=_ios_filtering(nodes, rules),
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
        w = _words(child)
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
        evidence.append(child)
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
    real_name = node.text.split()[2] if node.line.text.split()[2] != MASK else words[2]
    access: Literal["RO", "RW"] = "RW" if "RW" in words[3:] else "RO"
    rest = [w for w in words[3:] if w not in ("RO", "RW")]
    if rest[:1] == ["view"]:
        rest = rest[2:]
    return SnmpCommunity(real_name, access, rest[0] if rest else None, (node.line,))


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


def _ios_acls(nodes: list[_IosNode]) -> dict[str, list[ConfigLine]]:
    """ACL name -> entries, for named (`ip access-list`) and numbered (`access-list N`) ACLs."""
    acls: dict[str, list[ConfigLine]] = {}
    for node in _top(nodes, "ip access-list"):
        w = node.text.split()
        name = w[3] if len(w) > 3 and w[2] in ("extended", "standard") else w[2]
        acls.setdefault(name, []).extend(c for c in node.children if c.text.split()[0] not in ("remark",))
    for node in _top(nodes, "access-list"):
        w = node.text.split()
        if len(w) > 2 and w[2] != "remark":
            acls.setdefault(w[1], []).append(node.line)
    return acls


def _inbound_groups(nodes: list[_IosNode]) -> list[tuple[str, ConfigLine, ConfigLine]]:
    """(ACL name, interface line, access-group line) for each `ip access-group X in`."""
    found = []
    for node in _top(nodes, "interface"):
        for child in node.children:
            w = child.text.split()
            if w[:2] == ["ip", "access-group"] and len(w) >= 4 and w[3] == "in":
                found.append((w[2], node.line, child))
    return found


def _ios_firewall_rules(nodes: list[_IosNode]) -> tuple[FirewallRule, ...]:
    acls = _ios_acls(nodes)
    rules: list[FirewallRule] = []
    for name in dict.fromkeys(acl for acl, _, _ in _inbound_groups(nodes)):
        rules.extend(_ace(name, entry) for entry in acls.get(name, []))
    return tuple(rules)


def _ace(acl: str, line: ConfigLine) -> FirewallRule:
    """One ACL entry; src/dst 'any' and service 'any' for `permit ip any any` style entries."""
    w = line.text.split()
    if w[0] == "access-list":
        w = w[2:]
    if w and w[0].isdigit():
        w = w[1:]
    action: Literal["accept", "deny"] = "accept" if w[0] == "permit" else "deny"
    if len(w) == 2 or (len(w) > 2 and w[1] in ("any", "host")) and "ip" not in w[1:2]:
        return FirewallRule(acl, action, w[1] == "any", True, True, True, (line,))  # standard ACL
    proto, rest = w[1], w[2:]
    src_any, rest = _addr_any(rest)
    rest = _skip_ports(rest)
    dst_any, rest = _addr_any(rest)
    rest = _skip_ports(rest)
    return FirewallRule(acl, action, src_any, dst_any, proto == "ip", True, (line,))


def _addr_any(words: list[str]) -> tuple[bool, list[str]]:
    if not words:
        return False, words
    if words[0] == "any":
        return True, words[1:]
    return False, words[2:]  # host X | X wildcard | object-group N | addrgroup N


def _skip_ports(words: list[str]) -> list[str]:
    if words[:1] and words[0] in ("eq", "gt", "lt", "neq"):
        return words[2:]
    if words[:1] == ["range"]:
        return words[3:]
    return words


def _ios_filtering(nodes: list[_IosNode], rules: tuple[FirewallRule, ...]) -> Fact[bool]:
    groups = _inbound_groups(nodes)
    defined = _ios_acls(nodes)
    applied = [(acl, iface, grp) for acl, iface, grp in groups if acl in defined]
    evidence = tuple(e for _, iface, grp in applied for e in (iface, grp))
    return Fact(bool(applied), evidence)


# --------------------------------------------------------------------------------------------
# FortiOS
# --------------------------------------------------------------------------------------------

_FORTI_SECRET_KEYS = frozenset(
    {"password", "passwd", "psksecret", "auth-pwd", "priv-pwd", "key", "secret", "private-key", "passphrase"}
)
_FORTI_VERSION = re.compile(r"#config-version=[^-]+-(\d+\.\d+(?:\.\d+)?)-")
_ANY_HOST = ("0.0.0.0 0.0.0.0", "0.0.0.0/0", "::/0")


@dataclass
class _FNode:
    """A `config` block or an `edit` entry, with its `set` lines and nested nodes."""

    kind: Literal["config", "edit", "root"]
    name: str
    line: ConfigLine | None
    settings: dict[str, tuple[tuple[str, ...], ConfigLine]] = field(default_factory=dict)
    children: list["_FNode"] = field(default_factory=list)

    def get(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        return self.settings[key][0] if key in self.settings else default

    def first(self, key: str, default: str = "") -> str:
        values = self.get(key)
        return values[0] if values else default

    def ev(self, *keys: str) -> Evidence:
        """The header line plus the `set` lines of `keys` that are present."""
        head = (self.line,) if self.line else ()
        return head + tuple(self.settings[k][1] for k in keys if k in self.settings)

    def entries(self) -> list["_FNode"]:
        return [c for c in self.children if c.kind == "edit"]

    def walk(self) -> Iterator["_FNode"]:
        yield self
        for child in self.children:
            yield from child.walk()


def _forti_tokens(text: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        return text.split()


def _forti_mask(words: list[str], text: str) -> str:
    if len(words) >= 3 and words[0] == "set" and words[1] in _FORTI_SECRET_KEYS:
        kept = "ENC " if words[2] == "ENC" else ""
        return f"set {words[1]} {kept}{MASK}"
    if len(words) >= 3 and words[:2] == ["set", "name"] and words[2].lower() not in WELL_KNOWN_COMMUNITIES:
        return text  # names are masked only inside snmp community blocks (see _forti_tree)
    return text


def _forti_tree(text: str) -> tuple[_FNode, ConfigLine | None]:
    """The block tree and the `#config-version=` header line."""
    root = _FNode("root", "", None)
    stack = [root]
    header: ConfigLine | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#config-version="):
            header = ConfigLine(number, stripped)
        if not stripped or stripped.startswith("#"):
            continue
        words = _forti_tokens(stripped)
        line = ConfigLine(number, _forti_mask(words, stripped))
        top = stack[-1]
        if words[0] in ("config", "edit"):
            node = _FNode(words[0], " ".join(words[1:]), line)  # type: ignore[arg-type]
            top.children.append(node)
            stack.append(node)
        elif words[0] in ("next", "end") and len(stack) > 1:
            if words[0] == "end" and top.kind == "edit" and len(stack) > 2:
                stack.pop()  # tolerate a missing `next`
            stack.pop()
        elif words[0] == "set" and len(words) >= 2:
            top.settings[words[1]] = (tuple(words[2:]), line)
        elif words[0] == "unset" and len(words) >= 2:
            top.settings.pop(words[1], None)
    _mask_communities(root)
    return root, header


def _mask_communities(root: _FNode) -> None:
    """Mask non-default community names in `config system snmp community` evidence."""
    for block in _blocks(root, "system snmp community"):
        for entry in block.entries():
            if "name" in entry.settings:
                values, line = entry.settings["name"]
                if values and values[0].lower() not in WELL_KNOWN_COMMUNITIES:
                    entry.settings["name"] = (values, ConfigLine(line.number, f"set name {MASK}"))


def _blocks(root: _FNode, name: str) -> list[_FNode]:
    """Every `config <name>` block, at any depth (VDOM-wrapped configs included)."""
    return [n for n in root.walk() if n.kind == "config" and n.name == name]


def _block(root: _FNode, name: str) -> _FNode:
    found = _blocks(root, name)
    return found[0] if found else _FNode("config", name, None)


def _parse_fortios(text: str) -> NetworkConfigFacts:
    root, header = _forti_tree(text)
    glob = _block(root, "system global")
    interfaces = [e for b in _blocks(root, "system interface") for e in b.entries()]
    admins = _forti_admins(root)
    return NetworkConfigFacts(
        platform="fortinet",
        hostname=Fact(glob.first("hostname") or None, glob.ev("hostname")[1:]),
        os_version=_forti_version(header),
        telnet_enabled=_forti_access(interfaces, "telnet", glob),
        ssh_versions=_forti_ssh(glob),
        snmp_communities=_forti_communities(root),
        snmp_v3=_forti_snmp_users(root),
        ntp_servers=_forti_ntp(root),
        syslog_hosts=_forti_syslog(root),
        aaa_new_model=Fact(None),
        aaa_login=_forti_aaa(admins),
        enable_secret=Fact(None),
        enable_password=Fact(None),
        admins=admins,
        password_encryption=_forti_plaintext(root),
        http_server=_forti_access(interfaces, "http"),
        https_server=_forti_access(interfaces, "https"),
        terminal_lines=(),
        mgmt_access=tuple(_forti_mgmt(a) for a in admins),
        session_timeouts=(_forti_timeout(glob),),
        firewall_rules=_forti_policies(root),
        filtering=Fact(True, _block(root, "firewall policy").ev()),  # FortiOS ends with implicit deny
    )


def _forti_version(header: ConfigLine | None) -> Fact[str | None]:
    m = _FORTI_VERSION.match(header.text) if header else None
    return Fact(m.group(1), (header,)) if m and header else Fact(None)


def _forti_access(interfaces: list[_FNode], service: str, glob: _FNode | None = None) -> Fact[bool]:
    """Whether any interface lists `service` in allowaccess (telnet also needs admin-telnet on)."""
    hits = [i for i in interfaces if service in i.get("allowaccess")]
    evidence = tuple(e for i in hits for e in i.ev("allowaccess"))
    if glob is not None and "admin-telnet" in glob.settings:
        evidence = glob.ev("admin-telnet")[1:] + evidence
        if glob.first("admin-telnet") == "disable":
            return Fact(False, evidence)
    return Fact(bool(hits), evidence)


def _forti_ssh(glob: _FNode) -> Fact[tuple[int, ...]]:
    if glob.first("admin-ssh-v1") == "enable":
        return Fact((1, 2), glob.ev("admin-ssh-v1")[1:])
    return Fact((2,), glob.ev("admin-ssh-v1")[1:])


def _forti_communities(root: _FNode) -> tuple[SnmpCommunity, ...]:
    """Enabled v1/v2c communities; the FortiOS SNMP agent is read-only."""
    found = []
    for block in _blocks(root, "system snmp community"):
        for entry in block.entries():
            if entry.first("status", "enable") == "enable":
                found.append(SnmpCommunity(entry.first("name"), "RO", None, entry.ev("name")))
    return tuple(found)


def _forti_snmp_users(root: _FNode) -> tuple[SnmpV3Principal, ...]:
    levels: dict[str, SecurityLevel] = {"auth-priv": "priv", "auth-no-priv": "auth", "no-auth-no-priv": "noauth"}
    found = []
    for block in _blocks(root, "system snmp user"):
        for entry in block.entries():
            level = levels.get(entry.first("security-level", "no-auth-no-priv"), "noauth")
            found.append(SnmpV3Principal("user", entry.name, level, entry.ev("security-level")))
    return tuple(found)


def _forti_ntp(root: _FNode) -> Fact[tuple[str, ...]]:
    """Custom NTP servers; FortiGuard NTP (the default) counts as none configured locally."""
    ntp = _block(root, "system ntp")
    if ntp.line is None:
        return Fact(())
    head = ntp.ev("ntpsync", "type")
    if ntp.first("ntpsync", "enable") != "enable" or ntp.first("type", "fortiguard") != "custom":
        return Fact((), head)
    servers = [e for b in ntp.children if b.kind == "config" and b.name == "ntpserver" for e in b.entries()]
    return Fact(tuple(s.first("server") for s in servers), head + tuple(e for s in servers for e in s.ev("server")))


def _forti_syslog(root: _FNode) -> Fact[tuple[str, ...]]:
    """Enabled remote log targets: syslogd..syslogd4 and FortiAnalyzer."""
    hosts: list[str] = []
    evidence: list[ConfigLine] = []
    names = ["log syslogd setting"] + [f"log syslogd{i} setting" for i in (2, 3, 4)]
    names += ["log fortianalyzer setting"]
    for name in names:
        for block in _blocks(root, name):
            if block.first("status") == "enable" and block.first("server"):
                hosts.append(block.first("server"))
                evidence.extend(block.ev("status", "server"))
    return Fact(tuple(hosts), tuple(evidence))


def _forti_admins(root: _FNode) -> tuple[AdminAccount, ...]:
    found = []
    for block in _blocks(root, "system admin"):
        for entry in block.entries():
            password = entry.get("password")
            kind: SecretKind = "none" if not password else "hashed" if password[0] == "ENC" else "plaintext"
            keys = [k for k in entry.settings if k.startswith(("trusthost", "ip6-trusthost"))]
            hosts = tuple(" ".join(entry.get(k)) for k in keys)
            trusted = tuple(h for h in hosts if h not in _ANY_HOST)
            ev = entry.ev("accprofile", "password", *keys)
            found.append(AdminAccount(entry.name, kind, entry.first("accprofile") or None, trusted, ev))
    return tuple(found)


def _forti_aaa(admins: tuple[AdminAccount, ...]) -> Fact[bool]:
    """Every administrator must authenticate: no account without a password."""
    evidence = tuple(e for a in admins for e in a.evidence if e.text.startswith(("edit", "set password")))
    return Fact(bool(admins) and all(a.secret != "none" for a in admins), evidence)


def _forti_plaintext(root: _FNode) -> Fact[bool]:
    """Secrets must be stored encrypted (ENC); a plaintext `set password` is a finding."""
    plain = tuple(
        line
        for node in root.walk()
        for key, (values, line) in node.settings.items()
        if key in _FORTI_SECRET_KEYS and values and values[0] != "ENC"
    )
    return Fact(not plain, plain)


def _forti_mgmt(admin: AdminAccount) -> MgmtAccess:
    detail = ", ".join(admin.trusted_hosts) if admin.trusted_hosts else "no trusthost"
    ev = tuple(e for e in admin.evidence if e.text.startswith(("edit", "set trusthost", "set ip6-trusthost")))
    return MgmtAccess(f"admin {admin.name}", bool(admin.trusted_hosts), detail, ev)


def _forti_timeout(glob: _FNode) -> SessionTimeout:
    explicit = "admintimeout" in glob.settings
    minutes = float(glob.first("admintimeout", "5"))
    return SessionTimeout("system global admintimeout", minutes, explicit, glob.ev("admintimeout")[1:])


def _forti_policies(root: _FNode) -> tuple[FirewallRule, ...]:
    found = []
    for block in _blocks(root, "firewall policy"):
        for entry in block.entries():
            action: Literal["accept", "deny"] = "accept" if entry.first("action", "deny") == "accept" else "deny"
            found.append(
                FirewallRule(
                    name=f"policy {entry.name}" + (f" ({entry.first('name')})" if entry.first("name") else ""),
                    action=action,
                    src_any="all" in entry.get("srcaddr"),
                    dst_any="all" in entry.get("dstaddr"),
                    service_any="ALL" in entry.get("service"),
                    enabled=entry.first("status", "enable") == "enable",
                    evidence=entry.ev("status", "srcaddr", "dstaddr", "action", "service"),
                )
            )
    return tuple(found)
