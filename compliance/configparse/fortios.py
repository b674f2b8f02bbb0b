"""FortiOS running-config: `config ... / edit ... / set ... / next / end` blocks, VDOMs or not."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Iterator, Literal

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
)

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

    def sets(self, *keys: str) -> Evidence:
        """The `set` lines of `keys` that are present, in the order asked."""
        return tuple(self.settings[k][1] for k in keys if k in self.settings)

    def ev(self, *keys: str) -> Evidence:
        """The `config`/`edit` line plus the `set` lines of `keys`."""
        return ((self.line,) if self.line else ()) + self.sets(*keys)

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


def _forti_statements(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, statement): a quoted value spanning lines (certificates,
    replacement messages) is joined into one statement."""
    pending: tuple[int, list[str]] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if pending is not None:
            pending[1].append(raw)
            if _open_quote(raw):
                yield pending[0], "\n".join(pending[1])
                pending = None
            continue
        stripped = raw.strip()
        if stripped.startswith("set ") and _open_quote(stripped):
            pending = (number, [stripped])
            continue
        yield number, stripped
    if pending is not None:
        yield pending[0], "\n".join(pending[1])


def _open_quote(text: str) -> bool:
    """An odd number of unescaped double quotes: a quoted string starts or ends here."""
    return len(re.findall(r'(?<!\\)"', text)) % 2 == 1


def _forti_mask(words: list[str], text: str) -> str:
    if len(words) >= 3 and words[0] == "set" and words[1] in _FORTI_SECRET_KEYS:
        kept = "ENC " if words[2] == "ENC" else ""
        return f"set {words[1]} {kept}{MASK}"
    return text


def _forti_tree(text: str) -> tuple[_FNode, ConfigLine | None]:
    """The block tree and the `#config-version=` header line."""
    root = _FNode("root", "", None)
    stack = [root]
    header: ConfigLine | None = None
    for number, stripped in _forti_statements(text):
        if stripped.startswith("#config-version="):
            header = ConfigLine(number, stripped)
        if not stripped or stripped.startswith("#"):
            continue
        words = _forti_tokens(stripped)
        line = ConfigLine(number, _forti_mask(words, stripped.split("\n", 1)[0]))
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


def parse_fortios(text: str) -> NetworkConfigFacts:
    """Facts of one FortiOS running-config."""
    root, header = _forti_tree(text)
    glob = _block(root, "system global")
    interfaces = [e for b in _blocks(root, "system interface") for e in b.entries()]
    admins = _forti_admins(root)
    return NetworkConfigFacts(
        platform="fortinet",
        hostname=Fact(glob.first("hostname") or None, glob.sets("hostname")),
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
    """Whether any interface lists `service` in allowaccess (telnet also needs admin-telnet on).

    Evidence: the interfaces that allow it, else every allowaccess line (showing it absent)."""
    hits = [i for i in interfaces if service in i.get("allowaccess")]
    shown = hits or [i for i in interfaces if "allowaccess" in i.settings]
    evidence = tuple(e for i in shown for e in i.ev("allowaccess"))
    if glob is not None and "admin-telnet" in glob.settings:
        evidence = glob.sets("admin-telnet") + evidence
        if glob.first("admin-telnet") == "disable":
            return Fact(False, evidence)
    return Fact(bool(hits), evidence)


def _forti_ssh(glob: _FNode) -> Fact[tuple[int, ...]]:
    if glob.first("admin-ssh-v1") == "enable":
        return Fact((1, 2), glob.sets("admin-ssh-v1"))
    return Fact((2,), glob.sets("admin-ssh-v1"))


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
    return SessionTimeout("system global admintimeout", minutes, explicit, glob.sets("admintimeout"))


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
