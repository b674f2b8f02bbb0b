"""Pure checks of a network device's running-config: one function per baseline rule id.

Each takes the parsed `NetworkConfigFacts` and the rule's `params` (from baseline.yaml) and says
expected vs actual with the config lines as evidence. Platform differences live in configparse.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from compliance.checks.base import CheckResult, check
from compliance.configparse import MASK, WELL_KNOWN_COMMUNITIES, ConfigLine, NetworkConfigFacts, Unreadable
from compliance.configparse.fortios import FORTIGUARD_NTP
from inventory.choices import Platform

Params = Mapping[str, Any]


def _ev(lines: Iterable[ConfigLine]) -> list[str]:
    """Evidence strings "N: text", de-duplicated, in file order."""
    return [str(line) for line in sorted(set(lines), key=lambda line: line.number)]


def _shown(name: str) -> str:
    """A community name as it may appear in a report (secrets masked)."""
    return name if name.lower() in WELL_KNOWN_COMMUNITIES else MASK


def _not_applicable(facts: NetworkConfigFacts, what: str) -> CheckResult:
    return CheckResult(None, what, f"not applicable on {facts.platform}", [])


# The statement kinds (configparse's `Unreadable.kind`) each check reads. A check must not pass
# on a config where a statement of a kind it reads could not be read: see `unread_for`.
STATEMENT_KINDS_READ: Mapping[str, frozenset[str]] = {
    name: frozenset(kinds) | {"config_structure"}  # a line that hides the rest of the config
    for name, kinds in {
        "net.telnet_off": ("vty_transport",),
        "net.ssh_v2_only": ("ssh_version",),
        "net.snmp_v3_only": ("snmp_community", "snmp_v3"),
        "net.snmp_no_default_community": ("snmp_community",),
        "net.snmp_no_rw_community": ("snmp_community",),
        "net.ntp_two_servers": ("ntp_server",),
        "net.remote_syslog": ("syslog_host",),
        "net.aaa_login": ("aaa_login", "login_authentication", "admin_account"),
        "net.enable_secret": ("enable_secret", "admin_account"),
        "net.password_encryption": ("password_storage",),
        "net.http_mgmt_off": ("http_server",),
        "net.vty_acl": ("vty_access_class", "vty_transport", "admin_account"),
        "net.exec_timeout": ("session_timeout",),
        "net.fw_default_deny": ("acl_entry", "acl_binding"),
    }.items()
}


def unread_for(check_name: str, subject: object) -> list[Unreadable]:
    """The unreadable lines of `subject` (a NetworkConfigFacts) of a kind the check reads."""
    unreadable = getattr(subject, "unreadable", ()) if isinstance(subject, NetworkConfigFacts) else ()
    if not unreadable:
        return []
    kinds = STATEMENT_KINDS_READ.get(check_name)
    return [u for u in unreadable if kinds is not None and u.kind in kinds]


def voiding_gaps(check_name: str, subject: object, passed: bool | None, evidence: Sequence[object]) -> list[Unreadable]:
    """What makes a verdict "not evaluated" (empty: it stands). A pass never stands on a config
    with a line of a kind it reads that could not be read. A failure stands on what was read,
    unless it cites no line at all while statements it reads are absent from the file (a
    fragment): then it failed only for want of evidence."""
    if passed is None:
        return []
    gaps = unread_for(check_name, subject)
    if passed or not gaps:
        return gaps
    return gaps if not evidence and any(u.line.number == 0 for u in gaps) else []


# Each check has a verdict (see compliance.checks.base): the same decision, no texts.


def _telnet_off_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    return not facts.telnet_enabled.value


@check("net.telnet_off", verdict=_telnet_off_passed)
def telnet_off(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """Telnet must not reach the management plane."""
    fact = facts.telnet_enabled
    actual = "telnet allowed" if fact.value else "telnet not allowed"
    return CheckResult(not fact.value, "telnet disabled on all management access", actual, _ev(fact.evidence))


def _ssh_v2_only_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    return facts.ssh_versions.value == (2,)


@check("net.ssh_v2_only", verdict=_ssh_v2_only_passed)
def ssh_v2_only(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """SSH must accept protocol version 2 only."""
    fact = facts.ssh_versions
    actual = "SSH versions " + "/".join(str(v) for v in fact.value)
    if not fact.evidence and fact.value != (2,):
        actual += " (version not set: platform default accepts v1)"
    return CheckResult(fact.value == (2,), "SSH version 2 only", actual, _ev(fact.evidence))


_SNMP_LEVELS = {"noauth": 0, "auth": 1, "priv": 2}


def _snmp_v3_only_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    required = params["security_level"]
    weak = [p for p in facts.snmp_v3 if _SNMP_LEVELS[p.security_level] < _SNMP_LEVELS[required]]
    return not facts.snmp_communities and not weak


@check("net.snmp_v3_only", params={"security_level": str}, verdict=_snmp_v3_only_passed)
def snmp_v3_only(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """No SNMP v1/v2c communities; every SNMPv3 group/user at the required security level."""
    required = params["security_level"]
    order = {"noauth": 0, "auth": 1, "priv": 2}
    weak = [p for p in facts.snmp_v3 if order[p.security_level] < order[required]]
    communities = facts.snmp_communities
    expected = f"SNMPv3 only, security level {required} (authPriv)"
    if not communities and not facts.snmp_v3:
        return CheckResult(True, expected, "SNMP not configured", [])
    problems = [f"{len(communities)} v1/v2c communit{'y' if len(communities) == 1 else 'ies'}"] if communities else []
    problems += [f"{p.kind} {p.name} at {p.security_level}" for p in weak]
    evidence = [e for c in communities for e in c.evidence] + [e for p in weak for e in p.evidence]
    if not problems:
        names = ", ".join(f"{p.kind} {p.name}" for p in facts.snmp_v3)
        return CheckResult(True, expected, f"SNMPv3 {required}: {names}", _ev(e for p in facts.snmp_v3 for e in p.evidence))
    return CheckResult(False, expected, "; ".join(problems), _ev(evidence))


def _snmp_no_default_community_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    forbidden = {str(name).lower() for name in params["forbidden"]}
    return not any(c.name.lower() in forbidden for c in facts.snmp_communities)


@check("net.snmp_no_default_community", params={"forbidden": list}, verdict=_snmp_no_default_community_passed)
def snmp_no_default_community(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """No community named like a vendor default ("public", "private")."""
    forbidden = {str(name).lower() for name in params["forbidden"]}
    bad = [c for c in facts.snmp_communities if c.name.lower() in forbidden]
    expected = "no community named " + "/".join(sorted(forbidden))
    if bad:
        actual = "default communities: " + ", ".join(c.name for c in bad)
        return CheckResult(False, expected, actual, _ev(e for c in bad for e in c.evidence))
    actual = f"{len(facts.snmp_communities)} communities, none default" if facts.snmp_communities else "no communities"
    return CheckResult(True, expected, actual, [])


def _snmp_no_rw_community_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    return not any(c.access == "RW" for c in facts.snmp_communities)


@check("net.snmp_no_rw_community", verdict=_snmp_no_rw_community_passed)
def snmp_no_rw_community(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """No read-write community (FortiOS SNMP is read-only by design)."""
    rw = [c for c in facts.snmp_communities if c.access == "RW"]
    if rw:
        actual = "read-write communities: " + ", ".join(_shown(c.name) for c in rw)
        return CheckResult(False, "no read-write community", actual, _ev(e for c in rw for e in c.evidence))
    return CheckResult(True, "no read-write community", "no read-write community", [])


# Servers are counted once each: the same address listed twice (once per VRF, say) is still one
# clock to fall back on. FortiGuard's NTP service (a FortiGate's default) is a pool run by the
# vendor over the Internet: it satisfies the rule only where the policy says so
# (`fortiguard_counts`), since a Party WAN device cannot reach it and the time it serves is not
# the province's own.
def _ntp_servers(facts: NetworkConfigFacts, params: Params) -> tuple[tuple[str, ...], bool, bool]:
    """(distinct servers, synchronised with FortiGuard?, passed?)"""
    servers = tuple(dict.fromkeys(facts.ntp_servers.value))
    if FORTIGUARD_NTP in servers and facts.platform == Platform.FORTINET:
        return servers, True, bool(params["fortiguard_counts"])
    return servers, False, len(servers) >= params["min_servers"]


def _ntp_two_servers_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    return _ntp_servers(facts, params)[2]


@check("net.ntp_two_servers", params={"min_servers": int, "fortiguard_counts": bool}, verdict=_ntp_two_servers_passed)
def ntp_two_servers(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """At least `min_servers` NTP servers (FortiGuard's service only if `fortiguard_counts`)."""
    servers, fortiguard, passed = _ntp_servers(facts, params)
    wanted = params["min_servers"]
    if fortiguard:
        actual = "FortiGuard NTP " + ("(counted by the policy)" if passed else "(not counted by the policy)")
    else:
        actual = f"{len(servers)} NTP server(s)" + (": " + ", ".join(servers) if servers else "")
    return CheckResult(passed, f">= {wanted} NTP servers", actual, _ev(facts.ntp_servers.evidence))


def _remote_syslog_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    return len(set(facts.syslog_hosts.value)) >= params["min_hosts"]


@check("net.remote_syslog", params={"min_hosts": int}, verdict=_remote_syslog_passed)
def remote_syslog(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """Logs sent to at least `min_hosts` remote collectors."""
    hosts = tuple(dict.fromkeys(facts.syslog_hosts.value))
    wanted = params["min_hosts"]
    actual = f"{len(hosts)} remote log host(s)" + (": " + ", ".join(hosts) if hosts else "")
    return CheckResult(len(hosts) >= wanted, f">= {wanted} remote syslog host(s)", actual, _ev(facts.syslog_hosts.evidence))


def _aaa_login_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    return facts.aaa_login.value


@check("net.aaa_login", verdict=_aaa_login_passed)
def aaa_login(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """Logins authenticated through AAA (IOS: aaa new-model + login list; FortiOS: every admin has a password)."""
    fact = facts.aaa_login
    if facts.aaa_new_model.value is None:
        missing = [a.name for a in facts.admins if a.secret == "none"]  # noqa: S105 (a config keyword, not a password)
        if missing:
            actual = "admins without password: " + ", ".join(missing)
        elif fact.value:
            actual = "all admins authenticate"
        else:  # every account has a password, but some way in does not ask for one (the lines say which)
            actual = "a login without password authentication"
        return CheckResult(fact.value, "every administrator authenticates with a password", actual, _ev(fact.evidence))
    if not facts.aaa_new_model.value:
        actual = "aaa new-model not enabled"
    elif fact.value:
        actual = "aaa new-model with login authentication on all vty lines"
    else:
        actual = "aaa new-model without a defined login list for every vty line"
    return CheckResult(fact.value, "aaa new-model and aaa authentication login on vty", actual, _ev(fact.evidence))


# Local users whose password is not hashed: reversible (type 7), in clear, or none at all.
_WEAK_SECRETS = ("reversible", "plaintext", "none")


def _enable_secret_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    if facts.enable_secret.value is None:
        return None
    weak = any(u.secret in _WEAK_SECRETS for u in facts.admins)
    return bool(facts.enable_secret.value) and not facts.enable_password.value and not weak


@check("net.enable_secret", verdict=_enable_secret_passed)
def enable_secret(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """`enable secret` set, no `enable password`, local users with `secret` (IOS only)."""
    expected = "enable secret set, no enable password, users with secret"
    if facts.enable_secret.value is None:
        return _not_applicable(facts, expected)
    weak = [u for u in facts.admins if u.secret in _WEAK_SECRETS]
    problems = [] if facts.enable_secret.value else ["no enable secret"]
    problems += ["enable password set"] if facts.enable_password.value else []
    problems += [f"user {u.name} has no password" if u.secret == "none" else f"user {u.name} uses password" for u in weak]  # noqa: S105
    evidence = facts.enable_secret.evidence + facts.enable_password.evidence
    evidence += tuple(e for u in weak for e in u.evidence)
    actual = "; ".join(problems) if problems else "enable secret set, no enable password"
    return CheckResult(not problems, expected, actual, _ev(evidence))


def _password_encryption_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    return facts.password_encryption.value


@check("net.password_encryption", verdict=_password_encryption_passed)
def password_encryption(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """Passwords stored encrypted (IOS: service password-encryption; FortiOS: no plaintext secret)."""
    fact = facts.password_encryption
    if facts.platform != Platform.CISCO_IOS:  # no global switch elsewhere: every secret is looked at
        actual = "all secrets stored encrypted (ENC)" if fact.value else f"{len(fact.evidence)} plaintext secret(s)"
        return CheckResult(fact.value, "no plaintext secret in the configuration", actual, _ev(fact.evidence))
    actual = "service password-encryption" if fact.value else "service password-encryption not enabled"
    return CheckResult(fact.value, "service password-encryption", actual, _ev(fact.evidence))


def _http_mgmt_off_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    if facts.http_server.value:
        return False
    return params["allow_https"] or not facts.https_server.value


@check("net.http_mgmt_off", params={"allow_https": bool}, verdict=_http_mgmt_off_passed)
def http_mgmt_off(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """No plain-HTTP management (HTTPS too unless `allow_https`)."""
    on = [("HTTP", facts.http_server)]
    if not params["allow_https"]:
        on.append(("HTTPS", facts.https_server))
    enabled = [(name, fact) for name, fact in on if fact.value]
    expected = "HTTP management off" + ("" if params["allow_https"] else ", HTTPS management off")
    if enabled:
        actual = " and ".join(name for name, _ in enabled) + " management on"
        return CheckResult(False, expected, actual, _ev(e for _, f in enabled for e in f.evidence))
    return CheckResult(True, expected, "HTTP management off", _ev(e for _, f in on for e in f.evidence))


def _vty_acl_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    access = facts.mgmt_access
    return bool(access) and all(a.restricted for a in access)


@check("net.vty_acl", verdict=_vty_acl_passed)
def vty_acl(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """Every management entry (vty lines, web server, FortiOS admins) limited by source address."""
    expected = "management access restricted by ACL / trusted hosts"
    access = facts.mgmt_access
    if not access:
        return CheckResult(False, expected, "no management access entries found", [])
    open_ = [a for a in access if not a.restricted]
    shown = open_ or list(access)
    actual = "; ".join(f"{a.name}: {a.detail}" for a in shown)
    return CheckResult(not open_, expected, actual, _ev(e for a in shown for e in a.evidence))


def _exec_timeout_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    limit = params["max_minutes"]
    timeouts = facts.session_timeouts
    return bool(timeouts) and all(0 < t.minutes <= limit for t in timeouts)  # NaN (invalid value) fails


@check("net.exec_timeout", params={"max_minutes": int}, verdict=_exec_timeout_passed)
def exec_timeout(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """Idle sessions closed after at most `max_minutes` (0 = never is a failure)."""
    limit = params["max_minutes"]
    expected = f"idle timeout 1-{limit} minutes on every management session"
    timeouts = facts.session_timeouts
    if not timeouts:
        return CheckResult(False, expected, "no management sessions found", [])
    bad = [t for t in timeouts if not 0 < t.minutes <= limit]  # NaN (invalid value) is bad
    shown = bad or list(timeouts)
    actual = "; ".join(f"{t.name}: {_minutes(t.minutes)}{'' if t.explicit else ' (default)'}" for t in shown)
    return CheckResult(not bad, expected, actual, _ev(e for t in shown for e in t.evidence))


def _minutes(value: float) -> str:
    if math.isnan(value):
        return "invalid value"
    if value <= 0:
        return "never"
    return f"{value:g} min"


def _fw_default_deny_passed(facts: NetworkConfigFacts, params: Params) -> bool | None:
    return bool(facts.filtering.value) and not any(r.allows_everything for r in facts.firewall_rules)


@check("net.fw_default_deny", verdict=_fw_default_deny_passed)
def fw_default_deny(facts: NetworkConfigFacts, params: Params) -> CheckResult:
    """Forwarded traffic filtered with default deny: a policy applied, no any/any/any accept."""
    expected = "filtering policy applied, default deny, no any-any-all accept"
    if not facts.filtering.value:
        return CheckResult(False, expected, "no inbound filtering policy applied", [])
    open_ = [r for r in facts.firewall_rules if r.allows_everything]
    if open_:
        actual = "accept-all rule: " + ", ".join(r.name for r in open_)
        return CheckResult(False, expected, actual, _ev(e for r in open_ for e in r.evidence))
    actual = f"{len(facts.firewall_rules)} rule(s), none accepts everything; implicit deny last"
    return CheckResult(True, expected, actual, _ev(facts.filtering.evidence))
