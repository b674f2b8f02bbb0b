"""PAN-OS running-config in set form (`set cli config-output-format set` + `configure` + `show`):
one `set <path words> <value>` statement a line; values with spaces are double-quoted, lists are
`[ a b c ]`. Single-vsys paths (`set rulebase …`) and multi-vsys ones (`set vsys V rulebase …`)
are both read. The XML of `show config running` is not this parser's input."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

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
    SessionTimeout,
    SnmpCommunity,
    SnmpV3Principal,
    Unreadable,
)
from inventory.choices import Platform

# Words after which PAN-OS set output carries a secret (the next word, or a quoted value).
# When in doubt, mask: `key` and `community` are masked wherever they are followed by a value.
_SECRET_WORDS = frozenset(
    {"phash", "password", "authpwd", "privpwd", "secret", "key", "bind-password", "passphrase",
     "private-key", "shared-secret", "auth-key", "authentication-key", "enc-key", "psk", "community", "snmp-community-string"}
)  # fmt: skip
_COMMUNITY_WORDS = frozenset({"community", "snmp-community-string"})  # names, shown when well known
# PAN-OS writes `phash` as a crypt hash (`$1$`, `$5$`, `$6$`) and the other secrets as master-key
# ciphertext (`-AQ==…`): a value in neither form is a secret in clear.
_ENCRYPTED_PREFIX = "-AQ=="
_SECRET_MASK = re.compile(r"(?<!\S)(" + "|".join(re.escape(w) for w in sorted(_SECRET_WORDS)) + r')(\s+)("[^"]*"?|\S+)')
_WORD = re.compile(r'"[^"]*"?|\S+')
_MGMT_SERVICES = ("ssh", "https", "http", "telnet", "snmp")  # management-plane services of a profile
_RULE_FIELDS = ("from", "to", "source", "destination", "application", "service", "action")
_DENY_ACTIONS = frozenset({"deny", "drop", "reset-client", "reset-server", "reset-both"})
_FRAGMENT = "this file, which is not a complete configuration (it lacks `set deviceconfig system` or `set mgt-config users`)"
_NOT_APPLICABLE: Fact = Fact(None)

Line = tuple[int, str]  # 1-based number, raw text: made a masked ConfigLine only when cited


def _masked(text: str) -> str:
    """A statement as shown in evidence: every secret value masked (well-known community names kept)."""

    def mask(m: re.Match[str]) -> str:
        value = m.group(3).strip('"')
        if m.group(1) in _COMMUNITY_WORDS and value.lower() in WELL_KNOWN_COMMUNITIES:
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}{MASK}"

    return _SECRET_MASK.sub(mask, text)


def _cl(line: Line) -> ConfigLine:
    return ConfigLine(line[0], _masked(line[1]))


def _ev(*lines: Line | None) -> Evidence:
    return tuple(_cl(line) for line in lines if line is not None)


def _words(text: str) -> list[str]:
    """The words of a statement, double quotes removed (an unclosed quote runs to the end)."""
    if '"' not in text:
        return text.split()
    return [w.strip('"') for w in _WORD.findall(text)]


def _values(words: list[str]) -> tuple[str, ...]:
    """A value: one word or a `[ a b ]` list."""
    if words and words[0] == "[":
        return tuple(w for w in words[1:] if w != "]")
    return tuple(words[:1])


@dataclass
class _Profile:
    """An interface management profile: its first line, services (`yes`/`no`) and permitted IPs."""

    first: Line
    services: dict[str, tuple[str, Line]] = field(default_factory=dict)
    permitted: list[Line] = field(default_factory=list)


@dataclass
class _Rule:
    """A security rule: its first line and the fields rules are judged by."""

    name: str
    first: Line
    fields: dict[str, tuple[tuple[str, ...], Line]] = field(default_factory=dict)


@dataclass
class _User:
    first: Line
    credential: Line | None = None
    role: str | None = None
    secret: SecretKind = "none"  # noqa: S105 (a kind, not a password)


@dataclass
class _Read:
    """What one pass over the statements collected."""

    has_system: bool = False
    has_users: bool = False
    hostname: tuple[str, Line] | None = None
    service: dict[str, tuple[str, Line]] = field(default_factory=dict)
    permitted: list[Line] = field(default_factory=list)
    ntp: dict[str, tuple[str, Line]] = field(default_factory=dict)
    has_snmp: bool = False
    communities: list[SnmpCommunity] = field(default_factory=list)
    v3_users: dict[str, dict[str, Line]] = field(default_factory=dict)
    idle_timeout: tuple[str, Line] | None = None
    users: dict[str, _User] = field(default_factory=dict)
    plaintext: list[Line] = field(default_factory=list)
    syslog_servers: dict[str, list[tuple[str, Line]]] = field(default_factory=dict)
    syslog_uses: list[tuple[tuple[str, ...], Line]] = field(default_factory=list)
    profiles: dict[str, _Profile] = field(default_factory=dict)
    bindings: list[tuple[str, str, Line]] = field(default_factory=list)
    rules: dict[tuple[str, str], _Rule] = field(default_factory=dict)
    interzone_allow: Line | None = None
    unreadable: list[Unreadable] = field(default_factory=list)

    def unread(self, line: Line, kind: str, reason: str) -> None:
        self.unreadable.append(Unreadable(_cl(line), kind, reason))


def _read(text: str) -> _Read:
    read = _Read()
    quote_open = False
    for number, raw in enumerate(text.splitlines(), start=1):
        if quote_open:  # the rest of a quoted value spanning lines: never a statement
            quote_open = raw.count('"') % 2 == 0
            continue
        if not raw.startswith("set ") and not raw.lstrip().startswith("set "):
            continue  # blank, comments, prompts
        if '"' in raw and raw.count('"') % 2:
            quote_open = True
        line = (number, raw.strip())
        words = _words(line[1])
        _check_secrets(read, words, line)
        rest = words[1:]
        if len(rest) >= 2 and rest[0] == "vsys":
            rest = rest[2:]  # `set vsys vsys1 rulebase …`: the vsys-level path
        if not rest:
            continue
        head = rest[0]
        if head == "deviceconfig":
            _deviceconfig(read, rest[1:], line)
        elif head == "mgt-config":
            _mgt_config(read, rest[1:], line)
        elif head == "shared" and rest[1:2] == ["log-settings"] or head == "log-settings":
            _log_settings(read, rest[rest.index("log-settings") + 1 :], line)
        elif head == "network":
            _network(read, rest[1:], line)
        elif head == "rulebase":
            _rulebase(read, words[2:4] if words[1] == "vsys" else ["", ""], rest[1:], line)
    return read


def _check_secrets(read: _Read, words: list[str], line: Line) -> None:
    """Secret values not in PAN-OS's stored form (crypt hash, `-AQ==` ciphertext) are in clear."""
    for i, word in enumerate(words[:-1]):
        if word in _SECRET_WORDS and word not in _COMMUNITY_WORDS:
            value = words[i + 1]
            stored = value.startswith("$") if word == "phash" else value.startswith(_ENCRYPTED_PREFIX)
            if not stored:
                read.plaintext.append(line)
                return


def _deviceconfig(read: _Read, words: list[str], line: Line) -> None:
    if words[:1] == ["system"]:
        read.has_system = True
        words = words[1:]
        key = words[0] if words else ""
        if key == "hostname" and len(words) > 1:
            read.hostname = (words[1], line)
        elif key == "permitted-ip" and len(words) > 1:
            read.permitted.append(line)
        elif key == "service" and len(words) > 1:
            read.service[words[1]] = (words[2] if len(words) > 2 else "", line)
        elif key == "ntp-servers":
            _ntp(read, words[1:], line)
        elif key == "snmp-setting":
            _snmp(read, words[1:], line)
    elif words[:3] == ["setting", "management", "idle-timeout"]:
        read.idle_timeout = (words[3] if len(words) > 3 else "", line)


def _ntp(read: _Read, words: list[str], line: Line) -> None:
    if len(words) >= 2 and words[1] == "ntp-server-address":
        if len(words) > 2:
            read.ntp[words[0]] = (words[2], line)
        else:
            read.unread(line, "ntp_server", "NTP server without an address")


def _snmp(read: _Read, words: list[str], line: Line) -> None:
    read.has_snmp = True
    if words[:2] != ["access-setting", "version"] or len(words) < 3:
        return
    version, rest = words[2], words[3:]
    if version in ("v2c", "v1") and rest[:1] == ["snmp-community-string"]:
        if len(rest) > 1:
            read.communities.append(SnmpCommunity(rest[1], "RO", None, _ev(line)))
        else:
            read.unread(line, "snmp_community", "community string without a value")
    elif version == "v3" and rest[:1] == ["users"]:
        if len(rest) < 2:
            read.unread(line, "snmp_v3", "SNMPv3 user without a name")
            return
        lines = read.v3_users.setdefault(rest[1], {"first": line})
        if len(rest) > 2 and rest[2] in ("authpwd", "privpwd"):
            lines[rest[2]] = line


def _mgt_config(read: _Read, words: list[str], line: Line) -> None:
    if words[:1] != ["users"]:
        return
    read.has_users = True
    if len(words) < 2:
        read.unread(line, "admin_account", "administrator without a name")
        return
    user = read.users.setdefault(words[1], _User(line))
    key = words[2] if len(words) > 2 else ""
    if key in ("phash", "authentication-profile") and len(words) > 3:
        user.credential = user.credential or line
        if key == "phash":
            user.secret = "hashed" if words[3].startswith("$") else "plaintext"
        elif user.secret == "none":  # noqa: S105 (a kind)
            user.secret = "hashed"  # noqa: S105 (a kind)  authenticated elsewhere (RADIUS, LDAP…): no local secret
    elif key == "permissions" and len(words) > 4:
        user.role = words[4]


def _log_settings(read: _Read, words: list[str], line: Line) -> None:
    if words[:1] == ["syslog"] and len(words) >= 5 and words[2] == "server" and words[4] == "server":
        address = words[5] if len(words) > 5 else ""
        if address:
            read.syslog_servers.setdefault(words[1], []).append((address, line))
        else:
            read.unread(line, "syslog_host", "syslog server without an address")
    elif "send-syslog" in words:
        at = words.index("send-syslog")
        read.syslog_uses.append((_values(words[at + 1 :]), line))


def _network(read: _Read, words: list[str], line: Line) -> None:
    if words[:2] == ["profiles", "interface-management-profile"] and len(words) > 2:
        profile = read.profiles.setdefault(words[2], _Profile(line))
        key = words[3] if len(words) > 3 else ""
        if key in _MGMT_SERVICES:
            profile.services[key] = (words[4] if len(words) > 4 else "", line)
        elif key == "permitted-ip" and len(words) > 4:
            profile.permitted.append(line)
    elif words[:1] == ["interface"] and "interface-management-profile" in words:
        at = words.index("interface-management-profile")
        if at + 1 < len(words):
            read.bindings.append((words[at - 1] if words[at - 1] != "layer3" else words[at - 2], words[at + 1], line))


def _rulebase(read: _Read, vsys: list[str], words: list[str], line: Line) -> None:
    if words[:2] == ["security", "rules"] and len(words) > 2:
        key = (vsys[0] if vsys else "", words[2])
        rule = read.rules.get(key)
        if rule is None:
            rule = read.rules[key] = _Rule(words[2], line)
        if len(words) > 3:
            rule.fields[words[3]] = (_values(words[4:]), line)
    elif words[:4] == ["default-security-rules", "rules", "interzone-default", "action"] and words[4:5] == ["allow"]:
        read.interzone_allow = line


def _absent(kind: str, what: str) -> Unreadable:
    return Unreadable.absent(kind, f"no `{what}` statement in this file; the default differs between releases")


def _in_fragment(kind: str, what: str) -> Unreadable:
    return Unreadable.absent(kind, f"no `{what}` statements in {_FRAGMENT}")


def _bound_profiles(read: _Read) -> list[tuple[str, str, Line, _Profile | None]]:
    return [(ifname, name, line, read.profiles.get(name)) for ifname, name, line in read.bindings]


def _service_on(read: _Read, service: str, kind: str, complete: bool) -> Fact[bool]:
    """A management service (telnet, http) on: the management port (`disable-X no`) or a bound
    interface profile (`X yes`). Evidence: the enabling lines, or the lines that keep it off."""
    setting = read.service.get(f"disable-{service}")
    on: list[Line] = []
    off: list[Line] = []
    if setting is not None:
        value, line = setting
        if value == "no":
            on.append(line)
        elif value == "yes":
            off.append(line)
        else:
            read.unread(line, kind, f"`disable-{service}` is neither yes nor no")
    elif service == "https":
        pass  # HTTPS management is PAN-OS's way in; absence never decides an HTTPS-off rule
    else:
        read.unreadable.append(_in_fragment(kind, f"deviceconfig system service disable-{service}") if not complete else _absent(kind, f"deviceconfig system service disable-{service}"))
    for _ifname, _name, _bind, profile in _bound_profiles(read):
        if profile is None:
            continue  # not defined in this file: commit refuses it in a whole config
        found = profile.services.get(service)
        if found is not None and found[0] == "yes":
            on.append(found[1])
        else:
            off.append(found[1] if found is not None else profile.first)
    if service == "https" and setting is None:
        return Fact(True, _ev(*on))  # the management port serves HTTPS unless disabled
    return Fact(bool(on), _ev(*sorted(set(on or off))))


def _snmp_v3(read: _Read) -> tuple[SnmpV3Principal, ...]:
    principals = []
    for name, lines in read.v3_users.items():
        auth, priv = lines.get("authpwd"), lines.get("privpwd")
        level = "priv" if auth and priv else "auth" if auth else "noauth"
        principals.append(SnmpV3Principal("user", name, level, _ev(auth, priv) if auth or priv else _ev(lines["first"])))
    return tuple(principals)


def _ntp_servers(read: _Read, complete: bool) -> Fact[tuple[str, ...]]:
    servers = dict.fromkeys(address for address, _ in read.ntp.values())
    if not servers and not complete:
        read.unreadable.append(_in_fragment("ntp_server", "deviceconfig system ntp-servers"))
    return Fact(tuple(servers), _ev(*sorted(line for _, line in read.ntp.values())))


def _syslog(read: _Read, complete: bool) -> Fact[tuple[str, ...]]:
    """Hosts of the syslog server profiles some log setting sends to: an unused profile sends nothing."""
    used = {name for names, _ in read.syslog_uses for name in names}
    hosts = dict.fromkeys(address for name in used for address, _ in read.syslog_servers.get(name, ()))
    lines = [line for servers in read.syslog_servers.values() for _, line in servers]
    lines += [line for names, line in read.syslog_uses if any(n in read.syslog_servers for n in names)]
    if not hosts and not complete:
        read.unreadable.append(_in_fragment("syslog_host", "shared log-settings"))
    return Fact(tuple(hosts), _ev(*sorted(lines)))


def _admins(read: _Read) -> tuple[AdminAccount, ...]:
    return tuple(AdminAccount(name, u.secret, u.role, (), _ev(u.credential or u.first)) for name, u in read.users.items())


def _aaa(read: _Read, admins: tuple[AdminAccount, ...]) -> Fact[bool]:
    if not read.users:
        read.unreadable.append(_in_fragment("aaa_login", "mgt-config users"))
    missing = [a for a in admins if a.secret == "none"]  # noqa: S105 (a kind, not a password)
    return Fact(not missing, tuple(e for a in (missing or admins) for e in a.evidence))


def _password_storage(read: _Read, complete: bool) -> Fact[bool]:
    if read.plaintext:
        return Fact(False, _ev(*read.plaintext))
    if not complete:
        read.unreadable.append(_in_fragment("password_storage", "mgt-config users"))
    return Fact(True, tuple(_cl(u.credential) for u in read.users.values() if u.credential is not None))


def _mgmt_access(read: _Read, complete: bool) -> tuple[MgmtAccess, ...]:
    access = []
    if read.permitted:
        addresses = ", ".join(_words(line[1])[-1] for line in read.permitted)
        access.append(MgmtAccess("MGT port", True, f"permitted-ip {addresses}", _ev(*read.permitted)))
    elif complete:
        access.append(MgmtAccess("MGT port", False, "no permitted-ip", ()))
    else:
        read.unreadable.append(_in_fragment("vty_access_class", "deviceconfig system permitted-ip"))
    for ifname, name, bind, profile in _bound_profiles(read):
        where = f"{ifname} (profile {name})"
        if profile is None:
            read.unread(bind, "vty_access_class", f"interface management profile {name} is not in this file")
            continue
        services = [s for s in _MGMT_SERVICES if profile.services.get(s, ("",))[0] == "yes"]
        if not services:
            access.append(MgmtAccess(where, True, f"no {'/'.join(_MGMT_SERVICES)}", _ev(bind)))
        elif profile.permitted:
            addresses = ", ".join(_words(line[1])[-1] for line in profile.permitted)
            access.append(MgmtAccess(where, True, f"{'/'.join(services)} from permitted-ip {addresses}", _ev(bind, *profile.permitted)))
        else:
            access.append(MgmtAccess(where, False, f"{'/'.join(services)} without permitted-ip", _ev(bind)))
    return tuple(access)


def _timeouts(read: _Read, complete: bool) -> tuple[SessionTimeout, ...]:
    if read.idle_timeout is None:
        if not complete:
            read.unreadable.append(_in_fragment("session_timeout", "deviceconfig setting management idle-timeout"))
            return ()
        # Not set: CIS calls it "not configured"; the admin guide's default is 60 minutes.
        return (SessionTimeout("idle-timeout", 60.0, False, ()),)
    value, line = read.idle_timeout
    minutes = float(value) if value.isdigit() else math.nan  # NaN never counts as compliant
    return (SessionTimeout("idle-timeout", minutes, True, _ev(line)),)


def _firewall_rules(read: _Read) -> tuple[FirewallRule, ...]:
    rules = []
    for rule in read.rules.values():
        fields = rule.fields
        missing = [f for f in _RULE_FIELDS if f not in fields]
        if missing:
            read.unread(rule.first, "acl_entry", f"security rule {rule.name} has no {'/'.join(missing)}")
            continue
        action = fields["action"][0][:1]
        if not action or (action[0] != "allow" and action[0] not in _DENY_ACTIONS):
            read.unread(fields["action"][1], "acl_entry", f"security rule {rule.name} has an unknown action")
            continue

        def any_(name: str, negate: str = "", fields: dict = fields) -> bool:
            return fields[name][0] == ("any",) and fields.get(negate, (("no",),))[0] != ("yes",)

        rules.append(
            FirewallRule(
                rule.name,
                "accept" if action[0] == "allow" else "deny",
                any_("from") and any_("source", "negate-source"),
                any_("to") and any_("destination", "negate-destination"),
                any_("application") and any_("service"),
                fields.get("disabled", (("no",),))[0] != ("yes",),
                _ev(*(fields[f][1] for f in _RULE_FIELDS)),
            )
        )
    if read.interzone_allow is not None:  # the predefined interzone deny, overridden to allow
        rules.append(FirewallRule("interzone-default", "accept", True, True, True, True, _ev(read.interzone_allow)))
    return tuple(rules)


def _filtering(read: _Read, complete: bool) -> Fact[bool]:
    """PAN-OS denies interzone traffic unless a rule allows it: a whole config always filters."""
    if not read.rules and read.interzone_allow is None and not complete:
        read.unreadable.append(_in_fragment("acl_entry", "rulebase security rules"))
    actions = sorted(rule.fields["action"][1] for rule in read.rules.values() if "action" in rule.fields)
    return Fact(True, _ev(*actions))


def parse_paloalto_panos(text: str) -> NetworkConfigFacts:
    """Facts of one PAN-OS set-form configuration; never raises on any text."""
    read = _read(text)
    complete = read.has_system and read.has_users
    if not complete and not read.has_snmp:
        read.unreadable.append(_in_fragment("snmp_community", "deviceconfig system snmp-setting"))  # read by every SNMP rule
    admins = _admins(read)
    # No PAN-OS statement selects the SSH protocol version (believed SSHv2-only, unconfirmed):
    # the rule is not evaluated rather than passed on a belief.
    read.unreadable.append(Unreadable.absent("ssh_version", "PAN-OS has no statement selecting the SSH protocol version (believed SSHv2 only, unconfirmed)"))
    facts = dict(
        telnet_enabled=_service_on(read, "telnet", "vty_transport", complete),
        http_server=_service_on(read, "http", "http_server", complete),
        https_server=_service_on(read, "https", "http_server", complete),
        ntp_servers=_ntp_servers(read, complete),
        syslog_hosts=_syslog(read, complete),
        aaa_login=_aaa(read, admins),
        password_encryption=_password_storage(read, complete),
        mgmt_access=_mgmt_access(read, complete),
        session_timeouts=_timeouts(read, complete),
        firewall_rules=_firewall_rules(read),
        filtering=_filtering(read, complete),
    )
    hostname = read.hostname
    return NetworkConfigFacts(
        platform=Platform.PALOALTO_PANOS.value,
        hostname=Fact(hostname[0], _ev(hostname[1])) if hostname else Fact(None),
        os_version=Fact(None),  # the set form carries no release
        ssh_versions=Fact((2,)),
        snmp_communities=tuple(read.communities),
        snmp_v3=_snmp_v3(read),
        aaa_new_model=_NOT_APPLICABLE,
        enable_secret=_NOT_APPLICABLE,
        enable_password=_NOT_APPLICABLE,
        admins=admins,
        terminal_lines=(),
        unreadable=tuple(sorted(read.unreadable, key=lambda u: u.line.number)),
        **facts,
    )
