"""ArubaOS-Switch (HPE Aruba 2530 and kin, 16.x) `show running-config` -> NetworkConfigFacts.

The config is flat: one global statement a line, plus `vlan N` / `interface N` context blocks
closed by `exit` (nothing in them decides a rule, so they are skipped). Rule by rule, the statements and defaults
are the aruba_osswitch rows of docs/config-rules.md. A parser never raises: any text gives facts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from compliance.configparse.facts import (
    MASK,
    WELL_KNOWN_COMMUNITIES,
    AdminAccount,
    ConfigLine,
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

_TOKEN = re.compile(r'"[^"]*"?|\S+')  # a quoted word may be cut by the end of the file: never raises
_HEADER = re.compile(r"^;.*Configuration Editor; Created on release #(\S+)")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_IPV6 = re.compile(r"^[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*$")
# Secret-bearing words: what follows them is masked in evidence (passwords, RADIUS/TACACS keys,
# SNMPv3 auth/priv keys, SNTP/NTP authentication keys). When in doubt, mask.
_SECRET_AFTER = re.compile(r'\b((?:encrypted-)?key(?:-value)?|(?:auth|priv) \S+|sha1|sha256|plaintext|secret)( +)("[^"]*"?|\S+)')
_COMMUNITY = re.compile(r'\b(community)( +)("[^"]*"?|\S+)')
# The statements a rule reads (first word): the other lines (VLAN members, port names...) are skipped unread.
_READ = frozenset(
    {"hostname", "module", "include-credentials", "encrypt-credentials", "telnet-server", "web-management", "ip", "ipv6",
     "logging", "radius-server", "tacacs-server", "aaa", "timesync", "sntp", "ntp", "snmpv3", "snmp-server", "password",
     "console", "no"}
)  # fmt: skip
_PREDEFINED_GROUP_LEVELS: dict[str, SecurityLevel] = {
    "managerpriv": "priv", "managerauth": "auth", "operatorauth": "auth", "operatornoauth": "noauth",
    "commanderpriv": "priv", "commanderauth": "auth", "commandernoauth": "noauth",
}  # fmt: skip
_ANY_ADDRESS = ("0.0.0.0", "::")  # noqa: S104 (an address read from the config, not one bound)
_LEVEL_ORDER = {"noauth": 0, "auth": 1, "priv": 2}
# `Running configuration:` is the CLI's title, absent from a config file copied off the switch (TFTP/SFTP):
# the `; <product> Configuration Editor; Created on release #…` header is the marker kept.
_FRAGMENT = "not a whole configuration (it lacks the `; … Configuration Editor; Created on release` header, `hostname` or `module`)"
_NO_CREDENTIALS = "no `include-credentials` in this file: ArubaOS-Switch shows no password or key without it"


def mask_aruba_line(text: str) -> str:
    """One line (stripped) with its passwords, keys and non-default community names masked."""
    masked = _SECRET_AFTER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return _COMMUNITY.sub(_masked_community, masked)


def _masked_community(m: re.Match[str]) -> str:
    name = m.group(3).strip('"')
    return m.group(0) if name.lower() in WELL_KNOWN_COMMUNITIES else f"{m.group(1)}{m.group(2)}{MASK}"


def _words(text: str) -> list[str]:
    return [w.strip('"') for w in _TOKEN.findall(text)]


@dataclass
class _Statements:
    """The statements read, by what they decide: each with its line (masked)."""

    header: ConfigLine | None = None
    version: str | None = None
    hostname: ConfigLine | None = None
    hostname_value: str | None = None
    module: bool = False
    include_credentials: ConfigLine | None = None
    encrypt_credentials: ConfigLine | None = None
    telnet: list[tuple[bool, ConfigLine]] = field(default_factory=list)
    http: list[tuple[bool, ConfigLine]] = field(default_factory=list)
    https: list[tuple[bool, ConfigLine]] = field(default_factory=list)
    managers: list[tuple[bool, str, ConfigLine]] = field(default_factory=list)
    syslog: list[tuple[str, ConfigLine]] = field(default_factory=list)
    timesync: tuple[str, ConfigLine] | None = None
    sntp: list[tuple[str, ConfigLine]] = field(default_factory=list)
    ntp: list[tuple[str, ConfigLine]] = field(default_factory=list)
    communities: list[SnmpCommunity] = field(default_factory=list)
    v3_users: dict[str, tuple[SecurityLevel, ConfigLine]] = field(default_factory=dict)
    v3_groups: list[tuple[str, str, SecurityLevel, ConfigLine]] = field(default_factory=list)
    passwords: list[AdminAccount] = field(default_factory=list)
    plaintext: list[ConfigLine] = field(default_factory=list)
    encrypted: list[ConfigLine] = field(default_factory=list)
    aaa_login: list[ConfigLine] = field(default_factory=list)
    timeouts: list[SessionTimeout] = field(default_factory=list)
    snmp_seen: bool = False
    unreadable: list[Unreadable] = field(default_factory=list)


def parse_aruba_osswitch(text: str) -> NetworkConfigFacts:
    """Facts of one `show running-config` (or a fragment of one); never raises."""
    st = _Statements()
    first_seen = False
    open_quote: ConfigLine | None = None  # a quoted value (a banner) running over lines: its lines are text, not statements
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if open_quote is not None:
            if line.count('"') % 2:
                open_quote = None
            continue
        if not line:
            continue
        if line.count('"') % 2:
            open_quote = ConfigLine(number, mask_aruba_line(line))
        if not first_seen:
            first_seen = True
            if line == "Running configuration:":
                continue
        head = line.split(None, 1)[0]
        if head.startswith(";"):
            m = _HEADER.match(line)
            if m and st.header is None:
                st.header, st.version = ConfigLine(number, line), m.group(1)
            continue
        if head in _READ:
            _read(st, number, line)
    if open_quote is not None:  # never closed: what follows it could not be read as statements
        st.unreadable.append(Unreadable(open_quote, "config_structure", "a quoted value opened here is never closed: the rest of the file could not be read"))
    complete = st.header is not None and st.hostname is not None and st.module
    return _facts(st, complete)


def _read(st: _Statements, number: int, line: str) -> None:
    words = _words(line)
    negated = words[0] == "no"
    if negated:
        words = words[1:]
    if not words:
        return
    head, rest = words[0], words[1:]
    evidence = ConfigLine(number, mask_aruba_line(line))
    match head:
        case "hostname" if rest and not negated:
            st.hostname, st.hostname_value = evidence, rest[0]
        case "module":
            st.module = True
        case "include-credentials" if "radius-tacacs-only" not in rest:  # that form shows keys, never passwords
            st.include_credentials = None if negated else evidence
        case "encrypt-credentials":
            st.encrypt_credentials = None if negated else evidence
        case "telnet-server":
            st.telnet.append((not negated, evidence))
        case "web-management":
            _read_web(st, negated, rest, evidence)
        case "ip" | "ipv6" if rest[:1] == ["authorized-managers"]:
            _read_manager(st, negated, head, rest[1:], evidence)
        case "logging" if not negated:
            _read_logging(st, rest, evidence)
        case "timesync" if rest and not negated:
            st.timesync = (rest[0], evidence)
        case "sntp" | "ntp" if rest[:1] == ["server"] and not negated:
            _read_time_server(st, head, rest[1:], evidence)
        case "snmp-server":
            st.snmp_seen = True
            if not negated:
                _read_snmp(st, rest, evidence)
        case "snmpv3":
            st.snmp_seen = True
            if not negated:
                _read_snmpv3(st, rest, evidence)
        case "radius-server" | "tacacs-server" if not negated:
            _read_server_key(st, words, evidence)
        case "password" if not negated:
            _read_password(st, rest, evidence)
        case "aaa" if not negated and rest[:1] == ["authentication"] and "login" in rest:
            st.aaa_login.append(evidence)
        case "console" if not negated and rest[:1] in (["idle-timeout"], ["inactivity-timer"]):
            _read_timeout(st, rest, evidence)


def _read_web(st: _Statements, negated: bool, rest: list[str], evidence: ConfigLine) -> None:
    what = rest[0] if rest else ""
    if what == "ssl":
        st.https.append((not negated, evidence))
    elif what == "plaintext":
        st.http.append((not negated, evidence))
    elif not what and negated:  # `no web-management`: the web agent is off, HTTP and HTTPS
        st.http.append((False, evidence))
        st.https.append((False, evidence))
    elif not what:  # `web-management`: the web agent on, plaintext being its default
        st.http.append((True, evidence))


def _read_manager(st: _Statements, negated: bool, family: str, rest: list[str], evidence: ConfigLine) -> None:
    if negated or not rest:
        return
    address = rest[0]
    mask = rest[1] if len(rest) > 1 and _IPV4.match(rest[1]) else ""
    anywhere = address in _ANY_ADDRESS or mask == _ANY_ADDRESS[0] or address.endswith("/0")
    st.managers.append((not anywhere, f"{address} {mask}".strip() if family == "ip" else address, evidence))


_LOGGING_OPTIONS = frozenset({"severity", "facility", "filter", "origin-id", "system-module", "priority-descr", "notify", "command", "audit", "debug", "oobm"})


def _read_logging(st: _Statements, rest: list[str], evidence: ConfigLine) -> None:
    if not rest or rest[0] in _LOGGING_OPTIONS:
        return
    if _IPV4.match(rest[0]) or _IPV6.match(rest[0]):
        st.syslog.append((rest[0], evidence))
    else:
        st.unreadable.append(Unreadable(evidence, "syslog_host", "logging with a word that is neither an address nor a known option"))


def _read_time_server(st: _Statements, protocol: str, rest: list[str], evidence: ConfigLine) -> None:
    if protocol == "sntp" and rest[:1] == ["priority"]:
        rest = rest[2:]
    if rest and rest[0] not in ("priority", "authentication"):
        (st.sntp if protocol == "sntp" else st.ntp).append((rest[0], evidence))
    else:
        st.unreadable.append(Unreadable(evidence, "ntp_server", f"{protocol} server without an address"))


def _read_snmp(st: _Statements, rest: list[str], evidence: ConfigLine) -> None:
    if rest[:1] == ["community"]:
        if len(rest) < 2:
            st.unreadable.append(Unreadable(evidence, "snmp_community", "snmp-server community without a name"))
            return
        if "unrestricted" in rest:
            access = "RW"
        elif "restricted" in rest:
            access = "RO"
        else:  # the default access of a new community is unconfirmed: never a pass on it
            access = "RO"
            st.unreadable.append(Unreadable(evidence, "snmp_community", "community without restricted/unrestricted: its default MIB access is unconfirmed"))
        st.communities.append(SnmpCommunity(rest[1], access, None, (evidence,)))
    elif rest[:1] == ["host"] and "community" in rest:
        # A v1/v2c notification target: v1/v2c in use, and a default name in it is still a default name.
        at = rest.index("community")
        if at + 1 < len(rest):
            st.communities.append(SnmpCommunity(rest[at + 1], "RO", None, (evidence,)))


def _read_snmpv3(st: _Statements, rest: list[str], evidence: ConfigLine) -> None:
    if rest[:1] == ["user"] and len(rest) > 1:
        level: SecurityLevel = "priv" if "priv" in rest else "auth" if "auth" in rest else "noauth"
        st.v3_users[rest[1]] = (level, evidence)
        if "auth" in rest or "priv" in rest:
            st.plaintext.append(evidence)  # in clear unless encrypt-credentials (decided at the end)
    elif rest[:1] == ["group"] and len(rest) > 1:
        user = rest[rest.index("user") + 1] if "user" in rest[:-1] else ""
        known = _PREDEFINED_GROUP_LEVELS.get(rest[1])
        if known is None:
            st.unreadable.append(Unreadable(evidence, "snmp_v3", "SNMPv3 group that is not a predefined one: its security level is not read"))
            known = "noauth"
        st.v3_groups.append((rest[1], user, known, evidence))


def _read_server_key(st: _Statements, words: list[str], evidence: ConfigLine) -> None:
    if "key" in words:
        st.plaintext.append(evidence)
    elif "encrypted-key" in words:  # the encrypt-credentials form
        st.encrypted.append(evidence)


def _read_password(st: _Statements, rest: list[str], evidence: ConfigLine) -> None:
    if not rest or rest[0] not in ("manager", "operator"):
        return
    name = rest[rest.index("user-name") + 1] if "user-name" in rest[:-1] else rest[0]
    secret: SecretKind = "none"  # noqa: S105 (storage kinds, not passwords)
    if "sha1" in rest or "sha256" in rest:
        secret = "hashed"  # noqa: S105
    elif "plaintext" in rest:
        secret = "plaintext"  # noqa: S105
        st.plaintext.append(evidence)
    else:  # a password exists (logins ask for it), stored in a form not read: never a pass on its storage
        secret = "hashed"  # noqa: S105
        for kind in ("enable_secret", "password_storage"):
            st.unreadable.append(Unreadable(evidence, kind, "password without a known storage form (sha1, sha256, plaintext)"))
    st.passwords.append(AdminAccount(name, secret, rest[0], (), (evidence,)))


def _read_timeout(st: _Statements, rest: list[str], evidence: ConfigLine) -> None:
    minutes_unit = rest[0] == "inactivity-timer"  # older releases: minutes; 16.x idle-timeout: seconds
    target, values = (f"console {rest[0]} serial-usb", rest[2:]) if rest[1:2] == ["serial-usb"] else (f"console {rest[0]}", rest[1:])
    value = values[0] if values else ""
    minutes = (float(value) if minutes_unit else float(value) / 60) if value.isascii() and value.isdigit() else math.nan
    if math.isnan(minutes):
        st.unreadable.append(Unreadable(evidence, "session_timeout", "console timeout without a whole number"))
    st.timeouts.append(SessionTimeout(target, minutes, True, (evidence,)))


def _last(settings: list[tuple[bool, ConfigLine]], default: bool) -> Fact[bool]:
    if not settings:
        return Fact(default)
    value, line = settings[-1]
    return Fact(value, (line,))


def _facts(st: _Statements, complete: bool) -> NetworkConfigFacts:
    gaps: list[Unreadable] = [
        # No ArubaOS-Switch 16.x statement selects the SSH version (docs/config-rules.md): never a pass.
        Unreadable.absent("ssh_version", "no statement selects the SSH version on ArubaOS-Switch 16.x")
    ]

    def absent(kind: str, what: str) -> None:
        gaps.append(Unreadable.absent(kind, f"{_FRAGMENT}, and no {what} in it"))

    # Telnet and plain-HTTP web are on by default: absent from a whole configuration, they are on.
    telnet = _last(st.telnet, complete)
    if not st.telnet and not complete:
        absent("vty_transport", "`telnet-server` statement")
    http = _last(st.http, complete)
    if not st.http and not complete:
        absent("http_server", "`web-management` statement")
    https = _last(st.https, False)

    mgmt = _mgmt_access(st, complete)
    if not st.managers and not complete:
        absent("vty_access_class", "`ip authorized-managers` statement")

    timeouts = _timeouts(st, complete)
    if not st.timeouts and not complete:
        absent("session_timeout", "`console idle-timeout` statement")

    ntp = _ntp(st, gaps)
    if not ntp.value and not complete:
        absent("ntp_server", "`sntp server` / `ntp server` statement")
    syslog = Fact(tuple(h for h, _ in st.syslog), tuple(line for _, line in st.syslog))
    if not syslog.value and not complete:
        absent("syslog_host", "`logging` host")

    if not complete:  # "no community" can only be said of a whole configuration
        for kind in ("snmp_community", "snmp_v3"):
            gaps.append(Unreadable.absent(kind, f"{_FRAGMENT}, so SNMP statements outside it cannot be ruled out"))

    aaa_login, enable_secret, admins = _passwords(st, complete, gaps)
    password_encryption = _password_storage(st, complete, gaps)
    return NetworkConfigFacts(
        platform=Platform.ARUBA_OSSWITCH.value,
        hostname=Fact(st.hostname_value, (st.hostname,) if st.hostname else ()),
        os_version=Fact(st.version, (st.header,) if st.header else ()),
        telnet_enabled=telnet,
        ssh_versions=Fact((2,)),
        snmp_communities=tuple(st.communities),
        snmp_v3=_v3_principals(st),
        ntp_servers=ntp,
        syslog_hosts=syslog,
        aaa_new_model=Fact(None),
        aaa_login=aaa_login,
        enable_secret=enable_secret,
        enable_password=Fact(False),
        admins=admins,
        password_encryption=password_encryption,
        http_server=http,
        https_server=https,
        terminal_lines=(),
        mgmt_access=mgmt,
        session_timeouts=timeouts,
        firewall_rules=(),
        filtering=Fact(False),  # an access switch: no forwarding policy is read
        unreadable=tuple(sorted(st.unreadable + gaps, key=lambda u: u.line.number)),
    )


def _mgmt_access(st: _Statements, complete: bool) -> tuple[MgmtAccess, ...]:
    # `ip authorized-managers` guards every way in (Telnet, SSH, web, SNMP, TFTP): one entry.
    name = "ip authorized-managers"
    if st.managers:
        shown = ", ".join(where for _, where, _ in st.managers)
        restricted = all(ok for ok, _, _ in st.managers)
        return (MgmtAccess(name, restricted, shown if restricted else f"any address allowed ({shown})", tuple(line for _, _, line in st.managers)),)
    # Absent: any station may manage (a whole configuration); a fragment says nothing, and its
    # "not in the configuration" entry keeps the rule from passing on this placeholder.
    return (MgmtAccess(name, not complete, "none: any address may manage" if complete else "not in this file", ()),)


def _timeouts(st: _Statements, complete: bool) -> tuple[SessionTimeout, ...]:
    if st.timeouts:
        latest: dict[str, SessionTimeout] = {t.name: t for t in st.timeouts}  # the last statement of each wins
        return tuple(latest.values())
    # Absent: 0 = never in a whole configuration. A fragment gets a placeholder its
    # "not in the configuration" entry keeps from passing.
    return (SessionTimeout("console idle-timeout", 0.0 if complete else 1.0, False, ()),)


def _ntp(st: _Statements, gaps: list[Unreadable]) -> Fact[tuple[str, ...]]:
    if st.timesync is not None:
        protocol, line = st.timesync
        chosen = st.sntp if protocol == "sntp" else st.ntp if protocol == "ntp" else []
        return Fact(tuple(a for a, _ in chosen), (line, *(ln for _, ln in chosen)))
    found = st.sntp + st.ntp
    if len(found) >= 2:  # enough servers, but which protocol runs is not in the file
        gaps.append(Unreadable.absent("ntp_server", "no `timesync` statement: which time protocol the servers serve is not in the file"))
    return Fact(tuple(a for a, _ in found), tuple(ln for _, ln in found))


def _v3_principals(st: _Statements) -> tuple[SnmpV3Principal, ...]:
    found = []
    for group, user, level, line in st.v3_groups:
        evidence: tuple[ConfigLine, ...] = (line,)
        user_level = st.v3_users.get(user)
        if user_level is not None and _LEVEL_ORDER[user_level[0]] < _LEVEL_ORDER[level]:
            level, evidence = user_level[0], tuple(sorted((line, user_level[1]), key=lambda ln: ln.number))  # the user's keys cap the group's level
        found.append(SnmpV3Principal("group", f"{group} ({user})" if user else group, level, evidence))
    return tuple(found)


def _passwords(st: _Statements, complete: bool, gaps: list[Unreadable]) -> tuple[Fact[bool], Fact[bool | None], tuple[AdminAccount, ...]]:
    managers = [a for a in st.passwords if a.profile == "manager"]
    if managers:  # a manager password: every login asks for one
        evidence = tuple(x for x in (st.include_credentials,) if x) + tuple(st.aaa_login) + tuple(e for a in managers for e in a.evidence)
        hashed = all(a.secret == "hashed" for a in managers)  # noqa: S105
        enable_ev = tuple(e for a in st.passwords for e in a.evidence)
        return Fact(True, evidence), Fact(hashed, enable_ev), tuple(st.passwords)
    if st.include_credentials is not None and complete:  # shown, and none: anyone gets manager rights
        shown = (st.include_credentials,)
        no_password = AdminAccount("manager", "none", "manager", (), shown)
        return Fact(False, shown), Fact(False, shown), (no_password, *st.passwords)
    why = _NO_CREDENTIALS if st.include_credentials is None else f"{_FRAGMENT}, and no `password manager` in it"
    gaps.append(Unreadable.absent("aaa_login", why))
    gaps.append(Unreadable.absent("enable_secret", why))
    return Fact(True), Fact(True), tuple(st.passwords)


def _password_storage(st: _Statements, complete: bool, gaps: list[Unreadable]) -> Fact[bool]:
    plaintext = [
        line for line in st.plaintext if not (st.encrypt_credentials is not None and line.text.startswith("snmpv3 user"))
    ]  # SNMPv3 keys are shown encrypted under encrypt-credentials; a RADIUS `key` or a `plaintext` password never is
    if plaintext:
        return Fact(False, tuple(plaintext))
    if st.include_credentials is None:
        gaps.append(Unreadable.absent("password_storage", _NO_CREDENTIALS))
    elif not complete:
        gaps.append(Unreadable.absent("password_storage", f"{_FRAGMENT}, so a secret outside it cannot be ruled out"))
    shown = (st.encrypt_credentials,) if st.encrypt_credentials is not None else ()
    return Fact(True, shown + tuple(st.encrypted))
