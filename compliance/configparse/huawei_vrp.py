"""Huawei VRP `display current-configuration` (S-series switches, USG firewalls) -> NetworkConfigFacts.

VRP prints top-level commands at column 0 (USG indents some by one space), views (`aaa`,
`interface X`, `user-interface vty 0 4`, `acl number N`, `security-policy`) with indented
children, and `#` between sections. The rows of docs/config-rules.md for huawei_vrp are the spec:
where a default is unconfirmed, absence leaves the rule not evaluated (`Unreadable.absent`).
"""

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
    FirewallRule,
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

# The word after these keywords is a secret (ciphertext or not): masked in every evidence line.
_SECRET_WORD = re.compile(r"\b(irreversible-cipher|cipher|simple|plain)( +)(\S+)")
# A secret typed without its keyword (legacy or hand-edited files): the word after these.
_BARE_SECRET = re.compile(r"\b(password|shared-key|pre-shared-key|authentication-key|key-string)( +)(?!(?:irreversible-cipher|cipher|simple|plain|level)\b)(\S+)")
_SUPER = re.compile(r"^(super password level \d+)( +)(?!(?:irreversible-cipher|cipher|simple)\b)(\S+)")
_USM_KEY = re.compile(r"\b((?:authentication|privacy)-mode \S+)( +)(?!(?:cipher|simple|plain)\b)(\S+)")
_COMMUNITY = re.compile(r"^(snmp-agent community (?:read|write) )(?!cipher )(\S+)")
_CIPHERTEXT = re.compile(r"^(?:%\^%#.*%\^%#|%@%@.*%@%@|@%@%.*@%@%|\$1[a-z]\$.*\$)$")
_IDLE = re.compile(r"^idle-timeout(?: +(\d{1,9}))?(?: +(\d{1,9}))?$")
_V3_LEVELS: dict[str, SecurityLevel] = {"privacy": "priv", "authentication": "auth", "noauthentication": "noauth"}
_UNCONFIRMED = "the default differs between releases"
_FRAGMENT = "not a complete configuration (no `!Software Version` header, `user-interface` blocks or `return`)"


def _mask(text: str) -> str:
    """A VRP line with its password, key or community name masked."""
    if "community" in text:
        m = _COMMUNITY.match(text)
        if m and m.group(2).lower() not in WELL_KNOWN_COMMUNITIES:
            text = f"{m.group(1)}{MASK}{text[m.end() :]}"
    masked = lambda w: f"{w.group(1)}{w.group(2)}{MASK}"  # noqa: E731
    text = _SECRET_WORD.sub(masked, text)
    if "key" in text or "password" in text:
        text = _SUPER.sub(masked, _BARE_SECRET.sub(masked, text))
    if text.startswith("snmp-agent usm-user"):
        text = _USM_KEY.sub(masked, text)
    return text


class _Line:
    """One statement: number, text (stripped) and its masked evidence line, made when cited."""

    __slots__ = ("number", "text", "_line")

    def __init__(self, number: int, text: str) -> None:
        self.number = number
        self.text = text
        self._line: ConfigLine | None = None

    @property
    def ev(self) -> ConfigLine:
        if self._line is None:
            self._line = ConfigLine(self.number, _mask(self.text))
        return self._line


class _View:
    """A view (`interface X`, `user-interface vty 0 4`, ...): its header and child statements."""

    __slots__ = ("head", "children")

    def __init__(self, head: _Line) -> None:
        self.head = head
        self.children: list[tuple[int, _Line]] = []  # (indentation, line)

    def first(self, prefix: str) -> _Line | None:
        return next((line for _, line in self.children if line.text.startswith(prefix)), None)


class _Config:
    """The statements of a file: top-level ones and views, indexed by first word."""

    def __init__(self, text: str) -> None:
        self.top: list[_Line] = []
        self.views: list[_View] = []
        self.header: _Line | None = None
        self.last = ""
        self._top_by_word: dict[str, list[_Line]] = {}
        self._views_by_word: dict[str, list[_View]] = {}
        view: _View | None = None
        for number, raw in enumerate(text.split("\n"), 1):
            stripped = raw.strip()
            if not stripped:
                continue
            self.last = stripped
            if stripped[0] in "#!":
                view = None
                if self.header is None and not self.top and stripped.startswith("!Software Version"):
                    self.header = _Line(number, stripped)
                continue
            line = _Line(number, stripped)
            if view is not None and raw[0] in " \t":
                view.children.append((2 if raw[1:2] in (" ", "\t") else 1, line))
                continue
            # a top-level statement (USG indents some) that may open a view
            word = stripped.split(None, 1)[0]
            self.top.append(line)
            self._top_by_word.setdefault(word, []).append(line)
            view = _View(line)
            self.views.append(view)
            self._views_by_word.setdefault(word, []).append(view)

    def top_starting(self, prefix: str) -> list[_Line]:
        return [line for line in self._top_by_word.get(prefix.split(None, 1)[0], ()) if line.text.startswith(prefix)]

    def views_named(self, prefix: str) -> list[_View]:
        return [v for v in self._views_by_word.get(prefix.split(None, 1)[0], ()) if v.head.text.startswith(prefix)]

    @property
    def complete(self) -> bool:
        heads = {" ".join(v.head.text.split()) for v in self.views_named("user-interface ")}
        return self.header is not None and self.last == "return" and {"user-interface con 0", "user-interface vty 0 4"} <= heads


def parse_huawei_vrp(text: str) -> NetworkConfigFacts:
    """Read a VRP running-config; never raises on any text."""
    cfg = _Config(text)
    complete = cfg.complete
    gaps: list[Unreadable] = []
    usg = _is_usg(cfg)
    user_interfaces = cfg.views_named("user-interface ")
    vtys = [v for v in user_interfaces if v.head.text.split()[1:2] == ["vty"]]
    acls = _acls(cfg)
    sysname = cfg.top_starting("sysname ")
    version = Fact(cfg.header.text.split()[-1], (cfg.header.ev,)) if cfg.header and len(cfg.header.text.split()) > 2 else Fact(None)
    admins = _admins(cfg, gaps, usg)
    secrets = _password_storage(cfg, complete, gaps)
    enable_secret, enable_password = _enable_secret(cfg, admins, gaps)
    http, https = _http(cfg, usg, gaps)
    communities, v3 = _snmp(cfg, complete, gaps)
    filtering, rules = _security_policy(cfg, complete, gaps)
    if not complete:
        for kind in ("syslog_host", "ntp_server", "session_timeout", "vty_access_class"):
            gaps.append(Unreadable.absent(kind, f"{_FRAGMENT}: statements outside this file are not known"))
    return NetworkConfigFacts(
        platform=Platform.HUAWEI_VRP.value,
        hostname=Fact(sysname[0].text.split(None, 1)[1], (sysname[0].ev,)) if sysname and " " in sysname[0].text else Fact(None),
        os_version=version,
        telnet_enabled=_telnet(cfg, vtys, gaps),
        ssh_versions=_ssh(cfg, gaps),
        snmp_communities=communities,
        snmp_v3=v3,
        ntp_servers=_ntp(cfg),
        syslog_hosts=_syslog(cfg),
        aaa_new_model=Fact(None),  # VRP has no global AAA switch: aaa_login reads the user-interface blocks
        aaa_login=_aaa_login(user_interfaces, complete, gaps),
        enable_secret=enable_secret,
        enable_password=enable_password,
        admins=admins,
        password_encryption=secrets,
        http_server=http,
        https_server=https,
        terminal_lines=(),
        mgmt_access=_mgmt_access(cfg, vtys, acls, http),
        session_timeouts=_timeouts(cfg, user_interfaces),
        firewall_rules=rules,
        filtering=filtering,
        unreadable=tuple(sorted(gaps, key=lambda u: u.line.number)),
    )


def _is_usg(cfg: _Config) -> bool:
    """A USG firewall: its release (V100/V300/V500/V600) or firewall-only statements."""
    if cfg.header is not None and re.search(r"\bV(?:1|3|5|6)00R", cfg.header.text):
        return True
    return any(cfg.views_named(word) for word in ("security-policy", "firewall zone", "web-manager")) or any(
        line.text.startswith("service-manage ") for v in cfg.views_named("interface ") for _, line in v.children
    )


def _telnet(cfg: _Config, vtys: list[_View], gaps: list[Unreadable]) -> Fact[bool]:
    on: list[ConfigLine] = []
    off: list[ConfigLine] = []
    on += _exact(cfg, ("telnet server enable", "telnet ipv6 server enable"))
    for line in cfg.top_starting("undo telnet server enable"):
        off.append(line.ev)
    ssh_only = bool(vtys)
    vty_lines: list[ConfigLine] = []
    for vty in vtys:
        protocol = vty.first("protocol inbound")
        words = protocol.text.split()[2:] if protocol else []
        if protocol is None:
            ssh_only = False
        elif words in (["telnet"], ["all"]):
            on += [vty.head.ev, protocol.ev]
        elif words == ["ssh"]:
            vty_lines += [vty.head.ev, protocol.ev]
        else:
            ssh_only = False
            gaps.append(Unreadable(protocol.ev, "vty_transport", "unknown `protocol inbound` value"))
    for interface in cfg.views_named("interface "):
        on += [line.ev for _, line in interface.children if line.text == "service-manage telnet permit"]
    if on:
        return Fact(True, tuple(sorted(on, key=lambda e: e.number)))
    if off or ssh_only:
        return Fact(False, tuple(sorted(off + (vty_lines if ssh_only else []), key=lambda e: e.number)))
    gaps.append(Unreadable.absent("vty_transport", f"no `telnet server` statement and no vty limited to SSH; {_UNCONFIRMED}"))
    return Fact(False)


def _ssh(cfg: _Config, gaps: list[Unreadable]) -> Fact[tuple[int, ...]]:
    found = cfg.top_starting("ssh server compatible-ssh1x ") + cfg.top_starting("undo ssh server compatible-ssh1x ")
    for line in sorted(found, key=lambda line: -line.number):  # the last statement wins
        if line.text == "ssh server compatible-ssh1x enable":
            return Fact((1, 2), (line.ev,))
        if line.text == "undo ssh server compatible-ssh1x enable":
            return Fact((2,), (line.ev,))
    gaps.append(Unreadable.absent("ssh_version", f"no `ssh server compatible-ssh1x` statement in this file; {_UNCONFIRMED}"))
    return Fact((2,))


def _snmp(cfg: _Config, complete: bool, gaps: list[Unreadable]) -> tuple[tuple[SnmpCommunity, ...], tuple[SnmpV3Principal, ...]]:
    agent = cfg.top_starting("snmp-agent")
    communities: list[SnmpCommunity] = []
    v3: list[SnmpV3Principal] = []
    versions = [line.ev for line in agent if line.text.startswith("snmp-agent sys-info version")]
    ciphered_at: list[int] = []
    for line in agent:
        words = line.text.split()
        if words[1:2] == ["community"]:
            if len(words) < 4 or words[2] not in ("read", "write"):
                gaps.append(Unreadable(line.ev, "snmp_community", "unrecognised `snmp-agent community` statement"))
                continue
            ciphered = words[3] == "cipher"
            name_at = 4 if ciphered else 3
            if len(words) <= name_at:
                gaps.append(Unreadable(line.ev, "snmp_community", "`snmp-agent community` without a name"))
                continue
            acl = words[words.index("acl") + 1] if "acl" in words[name_at + 1 : -1] else None
            access = "RW" if words[2] == "write" else "RO"
            communities.append(SnmpCommunity(MASK if ciphered else words[name_at], access, acl, (line.ev,)))
            if ciphered:
                ciphered_at.append(line.number)
        elif words[1:3] == ["group", "v3"] and len(words) > 3:
            level = _V3_LEVELS.get(words[4], "noauth") if len(words) > 4 else "noauth"
            v3.append(SnmpV3Principal("group", words[3], level, (*versions, line.ev)))
    if ciphered_at:
        # The line was read; only the name is not in the file (just its ciphertext): not a line
        # the parser failed on, so it is reported as absent, naming the lines.
        many = len(ciphered_at) > 1
        where = f"name{'s' if many else ''} (line{'s' if many else ''} {', '.join(map(str, ciphered_at))}) {'are' if many else 'is'}"
        gaps.append(Unreadable.absent("snmp_community", f"the community {where} stored as ciphertext and cannot be compared with public/private"))
    if not agent and not complete:
        # snmp_community is read by every SNMP rule: one gap, one reason in each outcome
        gaps.append(Unreadable.absent("snmp_community", f"no `snmp-agent` statements in this file, which is {_FRAGMENT}"))
    return tuple(communities), tuple(v3)


def _ntp(cfg: _Config) -> Fact[tuple[str, ...]]:
    servers: dict[str, ConfigLine] = {}
    for line in cfg.top_starting("ntp-service unicast-server "):
        words = line.text.split()
        address = words[3] if words[2] == "ipv6" and len(words) > 3 else words[2]
        servers.setdefault(address, line.ev)
    return Fact(tuple(servers), tuple(servers.values()))


def _syslog(cfg: _Config) -> Fact[tuple[str, ...]]:
    hosts: dict[str, ConfigLine] = {}
    for line in cfg.top_starting("info-center loghost "):
        words = line.text.split()
        if words[2] == "source":
            continue
        address = words[3] if words[2] == "ipv6" and len(words) > 3 else words[2]
        hosts.setdefault(address, line.ev)
    disabled = cfg.top_starting("undo info-center enable")
    if disabled:  # the information center is off: no log leaves the device
        return Fact((), tuple(sorted([disabled[0].ev, *hosts.values()], key=lambda e: e.number)))
    return Fact(tuple(hosts), tuple(hosts.values()))


def _aaa_login(user_interfaces: list[_View], complete: bool, gaps: list[Unreadable]) -> Fact[bool]:
    good: list[ConfigLine] = []
    bad: list[ConfigLine] = []
    for view in user_interfaces:
        mode = view.first("authentication-mode ")
        if mode is None:
            gaps.append(Unreadable.absent("aaa_login", f"`{view.head.text}` has no `authentication-mode`; {_UNCONFIRMED}"))
            continue
        value = mode.text.split()[1:]
        if value == ["aaa"]:
            good += [view.head.ev, mode.ev]
        elif value in (["password"], ["none"]):
            bad += [view.head.ev, mode.ev]
        else:
            gaps.append(Unreadable(mode.ev, "aaa_login", "unknown `authentication-mode` value"))
    if bad:
        return Fact(False, tuple(bad))
    if not user_interfaces:
        reason = "no `user-interface` blocks in this file" + ("" if complete else f", which is {_FRAGMENT}")
        gaps.append(Unreadable.absent("aaa_login", reason))
    return Fact(True, tuple(good))


def _secret_kind(words: list[str]) -> SecretKind:
    if "irreversible-cipher" in words:
        return "hashed"
    if "cipher" in words:
        return "reversible"
    return "plaintext"


def _admins(cfg: _Config, gaps: list[Unreadable], usg: bool) -> tuple[AdminAccount, ...]:
    admins: list[AdminAccount] = []
    for aaa in cfg.views_named("aaa"):
        manager: _Line | None = None
        for indent, line in aaa.children:
            words = line.text.split()
            if words[0] == "local-user" and len(words) > 3 and words[2] == "password":
                admins.append(AdminAccount(words[1], _secret_kind(words[3:]), None, (), (line.ev,)))
            elif words[0] == "manager-user" and len(words) > 1:
                manager = line
                admins.append(AdminAccount(words[1], "none", None, (), (line.ev,)))
            elif manager is not None and words[0] == "password" and admins and admins[-1].name == manager.text.split()[1]:
                kind = _secret_kind(words[1:])
                if kind == "reversible" and usg:  # unconfirmed whether USG's `cipher` is reversible
                    kind = "hashed"
                    reason = f"USG manager-user `password cipher` (line {line.number}): whether this form is reversible or a hash is unconfirmed"
                    gaps.append(Unreadable.absent("enable_secret", reason))
                admins[-1] = AdminAccount(manager.text.split()[1], kind, None, (), (manager.ev, line.ev))
            elif indent <= 1:
                manager = None
    return tuple(admins)


def _enable_secret(cfg: _Config, admins: tuple[AdminAccount, ...], gaps: list[Unreadable]) -> tuple[Fact[bool | None], Fact[bool | None]]:
    supers = cfg.top_starting("super password")
    hashed = [e for a in admins if a.secret == "hashed" for e in a.evidence[-1:]]  # noqa: S105 (a secret kind)
    hashed += [s.ev for s in supers if "irreversible-cipher" in s.text.split()]
    weak_super = tuple(s.ev for s in supers if "irreversible-cipher" not in s.text.split())
    if not admins and not supers:
        gaps.append(Unreadable.absent("enable_secret", "no `local-user … password`, `manager-user` or `super password` in this file"))
    return Fact(True, tuple(hashed)), Fact(bool(weak_super), weak_super)


def _password_storage(cfg: _Config, complete: bool, gaps: list[Unreadable]) -> Fact[bool]:
    """Every password-bearing statement (not community names) must hold ciphertext."""
    stored: list[ConfigLine] = []
    clear: list[ConfigLine] = []
    lines = list(cfg.top) + [line for v in cfg.views for _, line in v.children]
    for line in lines:
        text = line.text
        if "password" not in text and "-mode" not in text and "shared-key" not in text:
            continue
        words = text.split()
        is_secret = (
            (words[0] == "local-user" and words[2:3] == ["password"])
            or (words[0] == "password")
            or text.startswith(("super password", "set authentication password"))
            or (words[0] == "snmp-agent" and words[1:2] == ["usm-user"] and any(w in words for w in ("authentication-mode", "privacy-mode")))
            or "shared-key" in words
        )
        if not is_secret:
            continue
        ciphered = any(w in ("cipher", "irreversible-cipher") for w in words)
        if words[0] == "snmp-agent" and len(words) > 6 and not ciphered:
            ciphered = bool(_CIPHERTEXT.match(words[-1]))
        elif words[0] == "snmp-agent" and len(words) <= 6 and not ciphered:
            continue  # `authentication-mode sha` without a key: nothing stored
        (stored if ciphered and "simple" not in words else clear).append(line.ev)
    if not complete:
        gaps.append(Unreadable.absent("password_storage", f"{_FRAGMENT}, so a secret outside it cannot be ruled out"))
    if clear:
        return Fact(False, tuple(sorted(clear, key=lambda e: e.number)))
    return Fact(True, tuple(sorted(stored, key=lambda e: e.number)))


def _http(cfg: _Config, usg: bool, gaps: list[Unreadable]) -> tuple[Fact[bool], Fact[bool]]:
    http_on = _exact(cfg, ("http server enable", "web-manager enable"))
    https_on = _exact(cfg, ("http secure-server enable", "web-manager security enable"))
    for interface in cfg.views_named("interface "):
        for _, line in interface.children:
            if line.text == "service-manage http permit":
                http_on.append(line.ev)
            elif line.text == "service-manage https permit":
                https_on.append(line.ev)
    http_off = _exact(cfg, ("undo http server enable", "undo web-manager enable"))
    https_off = _exact(cfg, ("undo http secure-server enable", "undo web-manager security enable"))
    if not usg and not http_on and not http_off:
        gaps.append(Unreadable.absent("http_server", f"no `http server` statement in this file; {_UNCONFIRMED}"))
    https = Fact(True, tuple(https_on)) if https_on else Fact(False, tuple(https_off))
    return (Fact(True, tuple(http_on)) if http_on else Fact(False, tuple(http_off))), https


def _exact(cfg: _Config, statements: tuple[str, ...]) -> list[ConfigLine]:
    """The evidence of the top-level lines that are exactly one of `statements` (a `port N` after
    it still counts: `web-manager enable port 8080` enables it), in file order."""
    found = [line for s in statements for line in cfg.top_starting(s) if line.text == s or _PORT_OPTION.fullmatch(line.text[len(s) :])]
    return [line.ev for line in sorted(found, key=lambda line: line.number)]


_PORT_OPTION = re.compile(r" port \d+")


def _acls(cfg: _Config) -> dict[str, _View]:
    found: dict[str, _View] = {}
    for view in cfg.views_named("acl "):
        words = view.head.text.split()
        number = words[2] if words[1:2] == ["number"] and len(words) > 2 else words[1] if len(words) > 1 else ""
        found[number] = view
    return found


def _acl_restricts(acl: _View | None) -> bool:
    """An ACL that exists and permits no source-less or `source any` traffic."""
    if acl is None:
        return False
    permits = [line.text.split() for _, line in acl.children if line.text.startswith("rule ") and " permit" in line.text]
    return bool(permits) and all("source" in w and w[w.index("source") + 1 : w.index("source") + 2] not in (["any"], []) for w in permits)


def _acl_evidence(acl: _View | None) -> tuple[ConfigLine, ...]:
    if acl is None:
        return ()
    return (acl.head.ev, *(line.ev for _, line in acl.children if line.text.startswith("rule ")))


def _mgmt_access(cfg: _Config, vtys: list[_View], acls: dict[str, _View], http: Fact[bool]) -> tuple[MgmtAccess, ...]:
    access: list[MgmtAccess] = []
    server_acls = {kind: line for kind in ("ssh", "telnet") for line in cfg.top_starting(f"{kind} server acl ")}
    for vty in vtys:
        bind = next((line for _, line in vty.children if re.match(r"^acl (?:ipv6 )?\S+ inbound$", line.text)), None)
        if bind is None:
            access.append(MgmtAccess(vty.head.text, False, "no `acl … inbound`", (vty.head.ev,)))
            continue
        acl = acls.get(bind.text.split()[-2])
        restricted = _acl_restricts(acl)
        detail = f"acl {bind.text.split()[-2]} inbound" + ("" if restricted else " (the ACL is missing or permits any source)")
        access.append(MgmtAccess(vty.head.text, restricted, detail, (vty.head.ev, bind.ev, *_acl_evidence(acl))))
    for kind, line in server_acls.items():
        acl = acls.get(line.text.split()[-1])
        access.append(MgmtAccess(f"{kind} server", _acl_restricts(acl), line.text, (line.ev, *_acl_evidence(acl))))
    http_acl = cfg.top_starting("http acl ")
    if http.value and http.evidence and cfg.top_starting("http server enable"):
        acl = acls.get(http_acl[0].text.split()[-1]) if http_acl else None
        ev = (*http.evidence, *(http_acl[0].ev, *_acl_evidence(acl))) if http_acl else http.evidence
        access.append(MgmtAccess("http server", _acl_restricts(acl), "http acl" if http_acl else "no `http acl`", ev))
    zoned = {" ".join(line.text.split()[2:]) for v in cfg.views_named("firewall zone") for _, line in v.children if line.text.startswith("add interface ")}
    for interface in cfg.views_named("interface "):
        name = " ".join(interface.head.text.split()[1:])
        for _, line in interface.children:
            words = line.text.split()
            if words[0] == "service-manage" and words[-1] == "permit" and len(words) == 3 and words[1] in ("http", "https", "ssh", "telnet"):
                # An interface in no security zone is the management port; any other interface
                # carries traffic from networks service-manage cannot filter by source.
                in_zone = name in zoned
                detail = f"{words[1]} permitted " + ("on a zone interface without source restriction" if in_zone else "on the management interface (no zone)")
                access.append(MgmtAccess(f"interface {name} {words[1]}", not in_zone, detail, (line.ev,)))
    return tuple(access)


def _minutes(line: _Line) -> float:
    m = _IDLE.match(line.text)
    if m is None or m.group(1) is None:
        return math.nan
    return int(m.group(1)) + int(m.group(2) or 0) / 60


def _timeouts(cfg: _Config, user_interfaces: list[_View]) -> tuple[SessionTimeout, ...]:
    timeouts: list[SessionTimeout] = []
    for view in user_interfaces:
        idle = view.first("idle-timeout")
        if idle is None:  # documented default: 10 minutes
            timeouts.append(SessionTimeout(view.head.text, 10.0, False, (view.head.ev,)))
        else:
            timeouts.append(SessionTimeout(view.head.text, _minutes(idle), True, (idle.ev,)))
    for aaa in cfg.views_named("aaa"):
        for _, line in aaa.children:
            words = line.text.split()
            if words[0] == "local-user" and words[2:3] == ["idle-timeout"]:
                minutes = _minutes(_Line(line.number, " ".join(words[2:])))
                timeouts.append(SessionTimeout(f"local-user {words[1]}", minutes, True, (line.ev,)))
    return tuple(timeouts)


def _security_policy(cfg: _Config, complete: bool, gaps: list[Unreadable]) -> tuple[Fact[bool], tuple[FirewallRule, ...]]:
    policies = cfg.views_named("security-policy")
    if not policies:
        if not complete:
            gaps.append(Unreadable.absent("acl_entry", f"no `security-policy` in this file, which is {_FRAGMENT}"))
        return Fact(False), ()
    rules: list[FirewallRule] = []
    evidence: list[ConfigLine] = [p.head.ev for p in policies]
    for policy in policies:
        current: list[_Line] = []
        blocks: list[list[_Line]] = []
        for _, line in policy.children:
            if line.text.startswith("default action "):
                if line.text.split()[-1] == "permit":
                    rules.append(FirewallRule("default action permit", "accept", True, True, True, True, (line.ev,)))
                evidence.append(line.ev)
            elif line.text.startswith("rule name "):
                current = [line]
                blocks.append(current)
                evidence.append(line.ev)
            elif current:
                current.append(line)
        rules += [_rule(block) for block in blocks]
    return Fact(True, tuple(evidence)), tuple(rules)


def _rule(block: list[_Line]) -> FirewallRule:
    head, body = block[0], block[1:]
    conditions: dict[str, list[str]] = {}
    action: _Line | None = None
    for line in body:
        words = line.text.split()
        if words[0] == "action":
            action = line
        else:
            conditions.setdefault(words[0], []).append(" ".join(words[1:]))

    def any_of(*keys: str) -> bool:
        values = [v for k in keys for v in conditions.get(k, [])]
        return not values or "any" in values

    permit = action is not None and action.text.split()[1:2] == ["permit"]
    evidence: Evidence = (head.ev, action.ev) if action is not None else (head.ev,)
    return FirewallRule(
        " ".join(head.text.split()[2:]),
        "accept" if permit else "deny",
        any_of("source-zone") and any_of("source-address"),
        any_of("destination-zone") and any_of("destination-address"),
        any_of("service", "application"),
        "disable" not in conditions,
        evidence,
    )
