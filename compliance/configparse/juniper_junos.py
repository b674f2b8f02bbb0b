"""Junos running-configs -> NetworkConfigFacts, from either rendering the collector gets:
`show configuration` (braces) and `show configuration | display set` (one `set` per statement).

Both are read into the same statements: the full path of words (`system services ssh
protocol-version v2`), the line, and for the brace form the enclosing blocks' lines (evidence names
the block that names the object, `user netadmin {`). A file without `version` is a fragment: what
it lacks is not evidence of a Junos default (docs/config-rules.md, "Completeness markers")."""

from __future__ import annotations

import math
import re

from compliance.configparse.facts import (
    MASK,
    WELL_KNOWN_COMMUNITIES,
    AdminAccount,
    ConfigLine,
    Evidence,
    Fact,
    MgmtAccess,
    NetworkConfigFacts,
    SecretKind,
    SecurityLevel,
    SessionTimeout,
    SnmpCommunity,
    SnmpV3Principal,
    Unreadable,
)
from inventory.choices import Platform

# A word, a quoted string (maybe never closed: a cut file), or one of the brace-form punctuations.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[{};\[\]]|[^\s{};\[\]"]+')
# Statements whose value is a secret: masked in evidence (the value may be quoted, or cut).
_SECRET_VALUE = re.compile(
    r"\b(encrypted-password|authentication-key|privacy-key|secret|simple-password|pre-shared-key|"
    r"authentication-password|privacy-password|password|key|ascii-text|hexadecimal)"
    r'(\s+)("(?:[^"\\]|\\.)*"?|[^\s;{}]+)'
)
_COMMUNITY = re.compile(r'\b(community\s+)("(?:[^"\\]|\\.)*"?|[^\s;{}]+)')
# The routing-engine / cluster context the EX and SRX CLI prints on its own line before a prompt.
_CLI_CONTEXT = re.compile(r"\{(?:master|backup|linecard|primary|secondary|hold|ineligible)(?::[\w-]+)?\}")
_DOLLAR_STRING = re.compile(r'"\$(?:[^"\\]|\\.)*"?')  # `$9$`, `$6$`... anywhere else
_DOLLAR_WORD = re.compile(r'"?[^\s;{}"]*\$[^\s;{}]*')  # a damaged hash: no Junos keyword holds `$`
_CRYPT_HASH = re.compile(r"^\$(?:1|2[abxy]?|5|6|sha1|md5)\$\S+$")
_JUNOS_VERSION = re.compile(r"^(\d+)\.(\d+)")
_BUILT_IN_CLASSES = frozenset({"super-user", "operator", "read-only", "unauthorized"})
_ANY_SOURCE = frozenset({"0.0.0.0/0", "::/0", "0/0"})
# Remote management services and what their traffic looks like to an lo0 filter.
_SERVICE_TRAFFIC = {
    "ssh": ("tcp", frozenset({"ssh", "22"})),
    "telnet": ("tcp", frozenset({"telnet", "23"})),
    "http": ("tcp", frozenset({"http", "80"})),
    "https": ("tcp", frozenset({"https", "443"})),
    "snmp": ("udp", frozenset({"snmp", "161"})),
}
_LOCAL_TARGETS = frozenset({"other-routing-engine", "scc-master", "sfc0-master"})  # `syslog host` names inside the chassis
_MAX_DEPTH = 64  # Junos configurations nest about 10 deep; deeper is not a configuration
_FRAGMENT = "the file has no `version` statement, so it is not a whole configuration"


class _Stmt:
    """One statement: its full path of words (quotes removed), line, and enclosing blocks.

    `heads` holds (first word index, end word index, line number, line text) for each open block
    of the brace form; the set form has none."""

    __slots__ = ("words", "number", "text", "heads")

    def __init__(self, words: tuple[str, ...], number: int, text: str, heads: tuple) -> None:
        self.words = words
        self.number = number
        self.text = text
        self.heads = heads

    def line(self) -> ConfigLine:
        return ConfigLine(self.number, _masked(self.text))

    def object_line(self, index: int) -> ConfigLine:
        """The block line that names the word at `index` (`user netadmin {`), else this line."""
        for start, end, number, text in self.heads:
            if start <= index < end:
                return ConfigLine(number, _masked(text))
        return self.line()

    def block_line(self, index: int) -> ConfigLine | None:
        for start, end, number, text in self.heads:
            if start <= index < end:
                return ConfigLine(number, _masked(text))
        return None


def _masked(text: str) -> str:
    """A line as shown in evidence: secret values and non-default community names masked."""
    if '"' not in text and "$" not in text and "ey" not in text and "ret" not in text and "ass" not in text and "ommunity" not in text and "ascii" not in text and "hex" not in text:
        return text  # the common line carries no secret word
    text = _SECRET_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _COMMUNITY.sub(lambda m: m.group(0) if m.group(2).strip('"').lower() in WELL_KNOWN_COMMUNITIES else f"{m.group(1)}{MASK}", text)
    return _DOLLAR_WORD.sub(MASK, _DOLLAR_STRING.sub(MASK, text))


class _Config:
    """The statements of one file, by first word, and what the reading found wrong."""

    def __init__(self) -> None:
        self.by_top: dict[str, list[_Stmt]] = {}
        self.unreadable: list[Unreadable] = []

    def under(self, *prefix: str) -> list[_Stmt]:
        n = len(prefix)
        return [s for s in self.by_top.get(prefix[0], ()) if s.words[:n] == prefix]


def _read(text: str) -> _Config:
    """Both renderings into statements; inactive and deactivated statements are left out (Junos
    ignores them). Never raises."""
    config = _Config()
    by_top = config.by_top
    stack: list[tuple[int, int, int, str]] = []  # open blocks of the brace form
    heads: tuple = ()
    path: list[str] = []  # words of the open blocks
    inactive_depth = 0  # > 0: inside an `inactive:` block (its depth in `stack`)
    pending: list[str] = []
    pending_line = 0
    pending_text = ""
    deactivated: list[tuple[str, ...]] = []
    in_annotation = False
    number = 0
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        line = raw.strip()
        if in_annotation:
            in_annotation = "*/" not in line
            continue
        if not line or line[0] == "#":
            continue
        if line.startswith("/*"):
            in_annotation = "*/" not in line
            continue
        if not stack and not pending and _CLI_CONTEXT.fullmatch(line):
            continue  # `{master:0}`: the CLI's prompt context above a pasted `show configuration`
        if not stack and not pending and line.startswith(("set ", "deactivate ")):
            words = tuple(w.strip('"') for w in _TOKEN.findall(line)[1:] if w not in "[]")
            if line[0] == "d":
                deactivated.append(words)
            elif words:
                by_top.setdefault(words[0], []).append(_Stmt(words, number, line, ()))
            continue
        for piece in _TOKEN.findall(line):
            if piece[0] == "#":
                break  # a trailing comment (`## SECRET-DATA`)
            if piece == "{" or piece == ";":
                if not pending_line:
                    pending_line, pending_text = number, line
                inactive = bool(pending) and pending[0] == "inactive:"
                words = [w for w in pending if w not in ("inactive:", "protected:", "replace:")]
                if piece == "{":
                    if len(stack) >= _MAX_DEPTH:
                        config.unreadable.append(Unreadable(ConfigLine(number, _masked(line[:200])), "config_structure", f"blocks nested deeper than {_MAX_DEPTH}: the rest is not read"))
                        return config
                    stack.append((len(path), len(path) + len(words), pending_line, pending_text))
                    path.extend(words)
                    heads = tuple(stack)
                    if inactive and not inactive_depth:
                        inactive_depth = len(stack)
                elif words and not inactive and not inactive_depth:
                    _add_values(by_top, path, words, pending_line, pending_text, heads)
                pending, pending_line = [], 0
            elif piece == "}":
                if pending:  # a statement without its `;`
                    config.unreadable.append(Unreadable(ConfigLine(pending_line, _masked(pending_text)), "config_structure", "a statement is not ended by `;`"))
                    pending, pending_line = [], 0
                if not stack:
                    config.unreadable.append(Unreadable(ConfigLine(number, _masked(line)), "config_structure", "a `}` closes no block: the braces do not match"))
                    continue
                if inactive_depth == len(stack):
                    inactive_depth = 0
                start = stack.pop()[0]
                del path[start:]
                heads = tuple(stack)
            else:
                if not pending:
                    pending_line, pending_text = number, line
                pending.append(piece if piece[0] != '"' else piece.strip('"'))
    if stack or pending:
        config.unreadable.append(
            Unreadable(ConfigLine(number, _masked(text.splitlines()[-1].strip()) if text.strip() else ""), "config_structure", "the file ends inside a block or statement: it was cut")
        )
    if deactivated:
        _drop_deactivated(config, deactivated)
    return config


def _add_values(by_top: dict[str, list[_Stmt]], path: list[str], words: list[str], number: int, text: str, heads: tuple) -> None:
    """A `;` statement; `members [ a b ];` becomes one statement per value, as the set form has it."""
    if "[" in words:
        at = words.index("[")
        values = [w for w in words[at + 1 :] if w != "]"]
        for value in values or [""]:
            full = (*path, *words[:at], value) if value else (*path, *words[:at])
            by_top.setdefault(full[0], []).append(_Stmt(full, number, text, heads))
        return
    full = (*path, *words)
    by_top.setdefault(full[0], []).append(_Stmt(full, number, text, heads))


def _drop_deactivated(config: _Config, deactivated: list[tuple[str, ...]]) -> None:
    for top, stmts in config.by_top.items():
        prefixes = [d for d in deactivated if d and d[0] == top]
        if prefixes:
            config.by_top[top] = [s for s in stmts if not any(s.words[: len(d)] == d for d in prefixes)]


def parse_juniper_junos(text: str) -> NetworkConfigFacts:
    config = _read(text)
    unreadable = config.unreadable
    version_stmts = config.under("version")
    complete = bool(version_stmts)
    version = version_stmts[0].words[1] if version_stmts and len(version_stmts[0].words) > 1 else None
    _groups(config, unreadable)
    hostname = config.under("system", "host-name")
    communities = _communities(config)
    snmp_v3 = _snmp_v3(config)
    if not complete and not communities and not snmp_v3:
        unreadable += [Unreadable.absent("snmp_community", f"no `snmp` statement, and {_FRAGMENT}"), Unreadable.absent("snmp_v3", f"no `snmp v3` statement, and {_FRAGMENT}")]
    admins = _admins(config)
    if not admins:
        unreadable.append(Unreadable.absent("admin_account", "no `system root-authentication` or `system login user` (a committed Junos configuration always has root-authentication)"))
    timeouts = _timeouts(config)
    if not complete and not timeouts:
        # The timeout rule fails on no sessions, citing no line: beside this, not evaluated (checks.network.voiding_gaps).
        unreadable.append(Unreadable.absent("session_timeout", f"no `system login user` or class, and {_FRAGMENT}"))
    http, https = _web(config, complete, unreadable)
    return NetworkConfigFacts(
        platform=Platform.JUNIPER_JUNOS.value,
        hostname=Fact(hostname[0].words[2], (hostname[0].line(),)) if hostname and len(hostname[0].words) > 2 else Fact(None),
        os_version=Fact(version, (version_stmts[0].line(),)) if version else Fact(None),
        telnet_enabled=_telnet(config, complete, unreadable),
        ssh_versions=_ssh(config, version_stmts, unreadable),
        snmp_communities=communities,
        snmp_v3=snmp_v3,
        ntp_servers=_listed(config, ("system", "ntp", "server"), "ntp_server", complete, unreadable),
        syslog_hosts=_listed(config, ("system", "syslog", "host"), "syslog_host", complete, unreadable),
        aaa_new_model=Fact(None),  # no such switch: the check asks that every account has a credential
        aaa_login=Fact(all(a.secret != "none" for a in admins), _aaa_evidence(admins)),  # noqa: S105 (a SecretKind)
        enable_secret=Fact(None),  # no enable mode: rights come from the login class
        enable_password=Fact(None),
        admins=admins,
        password_encryption=_password_storage(config, complete, unreadable),
        http_server=http,
        https_server=https,
        terminal_lines=(),
        mgmt_access=_mgmt_access(config, complete, communities or snmp_v3, unreadable),
        session_timeouts=timeouts,
        firewall_rules=(),
        # SRX security policies and transit filters are not read yet (EX access switches only):
        # a stand-in that lets the absent statement below make the rule "not evaluated".
        filtering=Fact(True),
        unreadable=(*unreadable, Unreadable.absent("acl_binding", "transit filters and SRX security policies are not read by the juniper_junos parser yet")),
    )


def _groups(config: _Config, unreadable: list[Unreadable]) -> None:
    """`groups` reach the configuration through `apply-groups`, which this parser does not expand."""
    if not any("apply-groups" in s.words for stmts in config.by_top.values() for s in stmts if s.words[0] != "groups"):
        return
    read = {"system", "snmp", "interfaces", "firewall", "policy-options"}
    for stmt in config.by_top.get("groups", ()):
        if len(stmt.words) > 2 and stmt.words[2] in read:
            unreadable.append(Unreadable(stmt.line(), "config_structure", "statements inherited through `apply-groups` are not expanded by this parser"))
            return


def _telnet(config: _Config, complete: bool, unreadable: list[Unreadable]) -> Fact[bool]:
    telnet = config.under("system", "services", "telnet")
    if telnet:
        return Fact(True, tuple(dict.fromkeys(s.object_line(2) for s in telnet)))
    if not complete:
        unreadable.append(Unreadable.absent("vty_transport", f"no `system services telnet`, and {_FRAGMENT}"))
    services = config.under("system", "services")
    # Junos runs no remote-access service unless configured: the services stanza shows it absent.
    return Fact(False, (services[0].object_line(1),) if services else ())


def _ssh(config: _Config, version_stmts: list[_Stmt], unreadable: list[Unreadable]) -> Fact[tuple[int, ...]]:
    ssh = config.under("system", "services", "ssh")
    chosen = [s for s in ssh if s.words[3:4] == ("protocol-version",)]
    if chosen:
        versions = set()
        for stmt in chosen:
            word = stmt.words[4] if len(stmt.words) > 4 else ""
            if word in ("v1", "v2"):
                versions.add(int(word[1]))
            else:
                unreadable.append(Unreadable(stmt.line(), "ssh_version", f"unknown SSH protocol version {word!r}"))
        return Fact(tuple(sorted(versions)) or (2,), tuple(dict.fromkeys(s.line() for s in chosen)))
    if not ssh:
        if not version_stmts:
            unreadable.append(Unreadable.absent("ssh_version", f"no `system services ssh`, and {_FRAGMENT}"))
        return Fact((2,))  # no SSH service: nothing accepts v1
    shown = ssh[0].object_line(2)
    if not version_stmts:
        # Nothing on the line is unreadable: what is missing is the release, so the line goes in the reason.
        why = f"SSH is on (line {shown.number}: `{shown.text}`) without `protocol-version`, and no `version` statement tells whether the default is v2 (Junos 11.4 and later)"
        unreadable.append(Unreadable.absent("ssh_version", why))
        return Fact((2,), (shown,))
    found = _JUNOS_VERSION.match(version_stmts[0].words[1] if len(version_stmts[0].words) > 1 else "")
    if found is None:
        unreadable.append(Unreadable(version_stmts[0].line(), "ssh_version", "a `version` that is not a Junos release number: the SSH default is unknown"))
        return Fact((2,), (shown,))
    # Default v2 only since Junos 11.4; before, v1 and v2.
    default = (2,) if (int(found.group(1)), int(found.group(2))) >= (11, 4) else (1, 2)
    return Fact(default, (version_stmts[0].line(), shown))


def _communities(config: _Config) -> tuple[SnmpCommunity, ...]:
    by_name: dict[str, list[_Stmt]] = {}
    for stmt in config.under("snmp", "community"):
        if len(stmt.words) > 2:
            by_name.setdefault(stmt.words[2], []).append(stmt)
    found = []
    for name, stmts in by_name.items():
        rw = [s for s in stmts if s.words[3:5] == ("authorization", "read-write")]
        clients = [s.words[4] for s in stmts if s.words[3:4] == ("clients",) and len(s.words) > 4]
        evidence = (stmts[0].object_line(2), *(s.line() for s in rw))
        found.append(SnmpCommunity(name, "RW" if rw else "RO", " ".join(clients) or None, tuple(dict.fromkeys(evidence))))
    return tuple(found)


_LEVELS: dict[str, SecurityLevel] = {"privacy": "priv", "authentication": "auth", "none": "noauth"}


def _snmp_v3(config: _Config) -> tuple[SnmpV3Principal, ...]:
    users: dict[str, list[_Stmt]] = {}
    for stmt in config.under("snmp", "v3", "usm"):
        words = stmt.words
        at = 4 if words[3:4] == ("local-engine",) else 5  # `remote-engine ID user U`
        if len(words) > at + 1 and words[at] == "user":
            users.setdefault(words[at + 1], []).append(stmt)
    found = []
    for name, stmts in users.items():
        at = stmts[0].words.index("user") + 2
        priv = [s for s in stmts if len(s.words) > at and s.words[at].startswith("privacy-") and s.words[at] != "privacy-none"]
        auth = [s for s in stmts if len(s.words) > at and s.words[at].startswith("authentication-") and s.words[at] != "authentication-none"]
        level: SecurityLevel = "priv" if priv and auth else "auth" if auth else "noauth"
        deciding = priv or auth or stmts[:1]
        head = stmts[0].block_line(at - 1)
        evidence = ((head,) if head else ()) + tuple(s.object_line(at) for s in deciding)
        found.append(SnmpV3Principal("user", name, level, tuple(dict.fromkeys(evidence))))
    for stmt in config.under("snmp", "v3", "vacm", "access", "group"):
        if "security-level" in stmt.words:
            at = stmt.words.index("security-level")
            level = _LEVELS.get(stmt.words[at + 1] if len(stmt.words) > at + 1 else "", "noauth")
            found.append(SnmpV3Principal("group", stmt.words[5] if len(stmt.words) > 5 else "", level, (stmt.object_line(at),)))
    return tuple(found)


def _listed(config: _Config, prefix: tuple[str, ...], kind: str, complete: bool, unreadable: list[Unreadable]) -> Fact[tuple[str, ...]]:
    """NTP servers or syslog hosts: distinct addresses, each shown by its first line."""
    first: dict[str, ConfigLine] = {}
    for stmt in config.under(*prefix):
        if len(stmt.words) > len(prefix) and stmt.words[len(prefix)] not in first and stmt.words[len(prefix)] not in _LOCAL_TARGETS:
            first[stmt.words[len(prefix)]] = stmt.object_line(len(prefix))
    if not first and not complete:
        unreadable.append(Unreadable.absent(kind, f"no `{' '.join(prefix)}`, and {_FRAGMENT}"))
        return Fact(())  # fails on none, citing no line: not evaluated beside the absent statement
    return Fact(tuple(first), tuple(first.values()))


def _user_stmts(config: _Config) -> dict[str, list[_Stmt]]:
    users: dict[str, list[_Stmt]] = {}
    for stmt in config.under("system", "login", "user"):
        if len(stmt.words) > 3:
            users.setdefault(stmt.words[3], []).append(stmt)
    return users


def _secret_kind(stmts: list[_Stmt], at: int) -> SecretKind:
    """`encrypted-password` holds a crypt hash on a device-written config; SSH keys are credentials too."""
    passwords = [s for s in stmts if s.words[at : at + 1] == ("encrypted-password",)]
    if any(len(s.words) > at + 1 and not _CRYPT_HASH.match(s.words[at + 1]) for s in passwords):
        return "plaintext"
    if passwords or any(len(s.words) > at and s.words[at].startswith("ssh-") for s in stmts):
        return "hashed"
    return "none"


def _admins(config: _Config) -> tuple[AdminAccount, ...]:
    found = []
    root = config.under("system", "root-authentication")
    if root:
        found.append(AdminAccount("root", _secret_kind(root, 2), "super-user", (), _credential_evidence(root, 2, 1)))
    for name, stmts in _user_stmts(config).items():
        auth = [s for s in stmts if s.words[4:5] == ("authentication",)]
        classes = [s.words[5] for s in stmts if s.words[4:5] == ("class",) and len(s.words) > 5]
        evidence = _credential_evidence(auth, 5, 3) if auth else _whole_user(stmts)
        found.append(AdminAccount(name, _secret_kind(auth, 5), classes[0] if classes else None, (), evidence))
    return tuple(found)


def _credential_evidence(stmts: list[_Stmt], at: int, head_at: int) -> Evidence:
    head = stmts[0].block_line(head_at)
    lines = [s.line() for s in stmts if len(s.words) > at and (s.words[at] == "encrypted-password" or s.words[at].startswith("ssh-"))]
    return tuple(dict.fromkeys(((head,) if head else ()) + tuple(lines or [stmts[0].line()])))


def _whole_user(stmts: list[_Stmt]) -> Evidence:
    head = stmts[0].block_line(3)
    return (head,) if head else tuple(dict.fromkeys(s.line() for s in stmts))


def _aaa_evidence(admins: tuple[AdminAccount, ...]) -> Evidence:
    missing = [a for a in admins if a.secret == "none"]  # noqa: S105 (a SecretKind)
    return tuple(e for a in (missing or admins) for e in a.evidence)


def _password_storage(config: _Config, complete: bool, unreadable: list[Unreadable]) -> Fact[bool]:
    stored = [s for top in ("system",) for s in config.by_top.get(top, ()) if "encrypted-password" in s.words]
    if not stored and not complete:
        unreadable.append(Unreadable.absent("password_storage", f"no secret-bearing statement, and {_FRAGMENT}"))
    clear = [s for s in stored if (at := s.words.index("encrypted-password")) + 1 < len(s.words) and not _CRYPT_HASH.match(s.words[at + 1])]
    if clear:
        return Fact(False, tuple(s.line() for s in clear))
    return Fact(True, tuple(dict.fromkeys(s.line() for s in stored)))


def _web(config: _Config, complete: bool, unreadable: list[Unreadable]) -> tuple[Fact[bool], Fact[bool]]:
    web = config.under("system", "services", "web-management")
    if not web and not complete:
        unreadable.append(Unreadable.absent("http_server", f"no `system services web-management`, and {_FRAGMENT}"))
    facts = []
    for protocol in ("http", "https"):
        on = [s for s in web if s.words[3:4] == (protocol,)]
        evidence = tuple(dict.fromkeys(line for s in on for line in (s.object_line(2), s.object_line(3))))
        facts.append(Fact(bool(on), evidence))
    return facts[0], facts[1]


def _timeouts(config: _Config) -> tuple[SessionTimeout, ...]:
    """Each login user's class idle-timeout; built-in classes and classes without one never time out."""
    classes: dict[str, list[_Stmt]] = {}
    for stmt in config.under("system", "login", "class"):
        if len(stmt.words) > 3:
            classes.setdefault(stmt.words[3], []).append(stmt)
    found = []
    for name, stmts in _user_stmts(config).items():
        chosen = [s for s in stmts if s.words[4:5] == ("class",) and len(s.words) > 5]
        if not chosen:
            found.append(SessionTimeout(f"user {name} (no class)", 0.0, False, _whole_user(stmts)))
            continue
        cls = chosen[0].words[5]
        idle = [s for s in classes.get(cls, ()) if s.words[4:5] == ("idle-timeout",)]
        if not idle:
            shown = (classes[cls][0].object_line(3),) if cls in classes else ()
            found.append(SessionTimeout(f"user {name} (class {cls})", 0.0, False, (*shown, chosen[0].line())))
            continue
        value = idle[0].words[5] if len(idle[0].words) > 5 else ""
        minutes = float(value) if value.isdigit() else math.nan
        evidence = tuple(dict.fromkeys((idle[0].object_line(3), idle[0].line(), chosen[0].line())))
        found.append(SessionTimeout(f"user {name} (class {cls})", minutes, True, evidence))
    return tuple(found)


class _Term:
    """One firewall filter term, as far as management access is concerned."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stmts: list[_Stmt] = []
        self.sources: list[_Stmt] = []
        self.protocols: set[str] = set()
        self.ports: set[str] = set()
        self.other_match = False  # a condition this parser does not weigh (it narrows the term)
        self.established_only = False  # `tcp-established` / `tcp-flags`: never a new connection
        self.action: _Stmt | None = None
        self.action_word = "accept"  # a term without a terminating action accepts


def _filter_terms(config: _Config, name: str) -> list[_Term]:
    terms: dict[str, _Term] = {}
    for stmt in config.by_top.get("firewall", ()):
        words = stmt.words
        if words[1:4] == ("family", "inet", "filter"):
            at = 4
        elif words[1:2] == ("filter",):
            at = 2
        else:
            continue
        if len(words) < at + 4 or words[at] != name or words[at + 1] != "term":
            continue
        term = terms.setdefault(words[at + 2], _Term(words[at + 2]))
        term.stmts.append(stmt)
        part, rest = words[at + 3], words[at + 4 :]
        if part == "from" and rest:
            # `address` / `prefix-list` match the source OR the destination: not a source restriction.
            if rest[0] in ("source-address", "source-prefix-list"):
                term.sources.append(stmt)
            elif rest[0] == "protocol":
                term.protocols.update(rest[1:])
            elif rest[0] in ("destination-port", "port"):
                term.ports.update(rest[1:])
            elif rest[0] in ("tcp-established", "tcp-flags"):
                term.established_only = True
            else:
                term.other_match = True
        elif part == "then" and rest and rest[0] in ("accept", "discard", "reject") and term.action is None:
            term.action, term.action_word = stmt, rest[0]
    return list(terms.values())


def _prefixes(config: _Config, name: str) -> list[_Stmt]:
    return [s for s in config.under("policy-options", "prefix-list", name) if len(s.words) > 3]


def _mgmt_access(config: _Config, complete: bool, snmp_on: object, unreadable: list[Unreadable]) -> tuple[MgmtAccess, ...]:
    """Each remote service on, judged by the lo0 input filter (CIS Junos 2.1 "Protect RE")."""
    services = config.under("system", "services")
    on = [s for s in ("ssh", "telnet") if any(st.words[2:3] == (s,) for st in services)]
    on += [p for p in ("http", "https") if any(st.words[2:4] == ("web-management", p) for st in services)]
    on += ["snmp"] if snmp_on else []
    inputs = [s for s in config.under("interfaces", "lo0", "unit", "0", "family", "inet", "filter") if len(s.words) > 8 and s.words[7] in ("input", "input-list")]
    if not inputs:
        if not complete:
            unreadable.append(Unreadable.absent("vty_access_class", f"no input filter on lo0, and {_FRAGMENT}"))
            return ()  # no entries, no line cited: not evaluated beside the absent statement
        return tuple(MgmtAccess(s, False, "no input filter on lo0: any source may connect", ()) for s in on)
    binding = tuple(dict.fromkeys(line for s in inputs for line in (s.object_line(1), s.line())))
    terms = [t for s in inputs for t in _filter_terms(config, s.words[8])]
    if not terms and not complete:
        unreadable.append(Unreadable.absent("vty_access_class", f"the lo0 filter's terms are not in this file, and {_FRAGMENT}"))
    return tuple(_judge(config, service, terms, binding, unreadable) for service in on)


def _judge(config: _Config, service: str, terms: list[_Term], binding: Evidence, unreadable: list[Unreadable]) -> MgmtAccess:
    protocol, ports = _SERVICE_TRAFFIC[service]
    evidence = list(binding)
    restricted_by: list[str] = []
    for term in terms:
        if term.protocols and protocol not in term.protocols or term.ports and not term.ports & ports:
            continue
        if term.established_only:
            continue
        action = term.action_word
        sources = _source_values(config, term, unreadable)
        if action == "accept":
            if sources is None:
                return MgmtAccess(service, False, f"term {term.name} accepts {service} without a source-address or source-prefix-list match", (*binding, term.stmts[0].object_line(_term_index(term))))
            evidence.append(term.stmts[0].block_line(_term_index(term)) or term.sources[0].line())
            evidence += sources
            restricted_by.append(term.name)
        elif sources is None and not term.other_match:
            head = term.stmts[0].block_line(_term_index(term))
            evidence += ([head] if head else []) + ([term.action.line()] if term.action else [])
            detail = f"accepted only by term(s) {', '.join(restricted_by)}, then {action}" if restricted_by else f"{action} by term {term.name}"
            return MgmtAccess(service, True, detail, tuple(dict.fromkeys(evidence)))
    # Every Junos firewall filter ends in an implicit `then discard`: what no term accepted is dropped.
    detail = f"accepted only by term(s) {', '.join(restricted_by)}, then the implicit discard" if restricted_by else "not accepted by the lo0 filter (implicit discard)"
    return MgmtAccess(service, True, detail, tuple(dict.fromkeys(evidence)))


def _term_index(term: _Term) -> int:
    return term.stmts[0].words.index("term") + 1


def _source_values(config: _Config, term: _Term, unreadable: list[Unreadable]) -> list[ConfigLine] | None:
    """Evidence of a term's source restriction, or None when it matches any source."""
    if not term.sources:
        return None
    lines: list[ConfigLine] = []
    for stmt in term.sources:
        at = stmt.words.index("from") + 1
        kind, value = stmt.words[at], stmt.words[at + 1] if len(stmt.words) > at + 1 else ""
        if kind in ("source-address", "address"):
            if value in _ANY_SOURCE and "except" not in stmt.words:
                return None
            continue
        entries = _prefixes(config, value)
        if not entries or any(e.words[3] == "apply-path" for e in entries):
            unreadable.append(Unreadable(stmt.line(), "vty_access_class", f"prefix-list {value} has no entries this parser can read"))
            continue
        if any(e.words[3] in _ANY_SOURCE for e in entries):
            return None
        for entry in entries:
            head = entry.block_line(2)
            lines += ([head] if head else []) + [entry.line()]
    return lines
