"""Verdicts agree with their checks (the contract in compliance/checks/base.py).

For every check registered with a `verdict` and every enabled baseline rule using it, with that
rule's params: `verdict(subject, params) is False` exactly when `check(subject, params).passed is
False`, over real subjects: every golden running-config, the lab's generated configs, the
benchmark's synthetic fleet (small) and varied or edge-case devices. Each such rule must also meet
at least one failing and one non-failing subject here, so the agreement is not vacuous.
"""

from __future__ import annotations

import importlib.util
import json
import random
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import pytest

from collectors.lab.configs import applicable_rules, cisco_ios_config, fortios_config
from compliance.checks.base import get_check, registered_checks
from compliance.checks.device import end_of_life
from compliance.configparse import parse_config
from compliance.policy import DEVICE_CLASSES, load_policy
from compliance.subjects import DeviceSubject, SiteSubject
from inventory.choices import DeviceStatus

POLICY = load_policy()
GOLDEN = Path(__file__).parent / "golden"
BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench" / "check_bench.py"
TODAY = date(2026, 11, 22)
PLATFORMS = ("cisco_ios", "fortinet")

# Enabled baseline rules whose check has a verdict, in baseline order (the engine's order).
VERDICT_RULES = tuple(r for r in POLICY.baseline.rules if r.enabled and get_check(r.check) and get_check(r.check).verdict)


# -- network_config subjects ---------------------------------------------------------------------

EDGE_CONFIGS = {
    "cisco_ios": {
        "empty": "",
        "hostname only": "hostname edge-sw\n",
        "aaa without vty login list": "hostname a1\naaa new-model\nline vty 0 4\n login authentication VTY\n transport input ssh\n",
        "aaa with vty login list": (
            "hostname a2\naaa new-model\naaa authentication login VTY group tacacs+ local\nip ssh version 2\n"
            "line vty 0 4\n access-class 10 in\n exec-timeout 5 0\n login authentication VTY\n transport input ssh\n"
        ),
        "snmp v3 noauth/auth/priv": ("hostname s1\nsnmp-server group G0 v3 noauth\nsnmp-server group G1 v3 auth\nsnmp-server group G2 v3 priv\n"),
        "snmp v3 priv only": "hostname s2\nsnmp-server group G2 v3 priv\nsnmp-server user u G2 v3 auth sha A priv aes 128 P\n",
        "https only, no timeout": "hostname h1\nno ip http server\nip http secure-server\nline vty 0 4\n exec-timeout 0 0\n",
        "http on, users with password": ("hostname h2\nip http server\nenable secret 9 $9$abc$def\nusername bob password 0 plain\nusername amy privilege 15 secret 9 $9$x$y\n"),
        "enable password only": "hostname e1\nenable password 7 0822455D0A16\nservice password-encryption\n",
        "acl permit any": "hostname f1\ninterface Gi0/0\n ip access-group WAN in\nip access-list extended WAN\n permit ip any any\n",
        "acl deny last": "hostname f2\ninterface Gi0/0\n ip access-group WAN in\nip access-list extended WAN\n 10 permit tcp any any eq 443\n 20 deny ip any any\n",
    },
    "fortinet": {
        "empty": "",
        "hostname only": 'config system global\n    set hostname "edge-fgt"\nend\n',
        "admin without password": 'config system admin\n    edit "admin"\n        set accprofile "super_admin"\n    next\nend\n',
        "accept-all policy": ('config firewall policy\n    edit 1\n        set srcaddr "all"\n        set dstaddr "all"\n        set service "ALL"\n        set action accept\n    next\nend\n'),
        "public community": 'config system snmp community\n    edit 1\n        set name "public"\n    next\nend\n',
    },
}


def _lab_configs() -> list[tuple[str, str, str]]:
    """(label, text, platform): each platform, firewall or not, hardened, every single violation,
    every applicable violation at once, under a few hostnames (variants are picked by hostname hash)."""
    out = []
    for platform in PLATFORMS:
        render = cisco_ios_config if platform == "cisco_ios" else fortios_config
        for firewall in (True, False):
            rules = sorted(applicable_rules(platform, is_firewall=firewall))
            sets = [frozenset()] + [frozenset({r}) for r in rules] + [frozenset(rules)]
            if platform == "cisco_ios":
                sets.append(frozenset({"net.enable_secret", "net.password_encryption"}))
                sets.append(frozenset({"net.http_mgmt_off", "net.vty_acl"}))
            for host in ("LAB-SW1", "LAB-FW2", "LAB-RT3"):
                for violations in sets:
                    text = render(host, violations, is_firewall=firewall)
                    out.append((f"lab {platform} {host} firewall={firewall} violations={sorted(violations)}", text, platform))
    return out


def _golden_configs() -> list[tuple[str, str, str]]:
    cases = sorted(GOLDEN.glob("*/*/running-config.txt"))
    return [(f"golden {p.parent.parent.name}/{p.parent.name}", p.read_text(encoding="utf-8"), p.parent.parent.name) for p in cases]


# -- device subjects -----------------------------------------------------------------------------


def _bench():
    """scripts/bench/check_bench.py as a module (its `fleet` generator)."""
    spec = importlib.util.spec_from_file_location("kiemke_check_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OSES = [
    ("Windows 11 Pro", "25H2"), ("Windows 11 Pro", "24H2"), ("Windows 11 Pro", "23H2"), ("Windows 11 Enterprise", "23H2"),
    ("Windows 10 Pro", "22H2"), ("Windows 10 Enterprise LTSC", "2021"), ("Windows 10 Enterprise LTSB", "2016"),
    ("Windows 7 Professional", "SP1"), ("Windows XP", None), ("Windows Server 2019 Standard", "1809"), ("Windows Server 2012 R2", ""),
    ("Cisco IOS", "12.2(55)SE12"), ("Cisco IOS", "15.2(7)E8"), ("Cisco IOS", "15.0(2)SE11"), ("Cisco IOS", "15.4(3)M"), ("IOS-XE", "17.9"),
    ("FortiOS", "6.0.14"), ("FortiOS", "7.2.8"), ("FortiOS", "7.4.7"), ("FortiOS", "v7.6.1"), ("FortiOS", None),
    ("Ubuntu", "22.04"), ("macOS", "14.5"), ("", "1.0"), (None, None), (None, "22H2"),
]  # fmt: skip
# End-of-support dates and leap days among them: the comparisons are strict.
TODAYS = [TODAY, date(2026, 10, 13), date(2027, 11, 11), date(2025, 10, 14), date(2028, 2, 29)]
COUNTRIES = ["VN", "US", "JP", "KR", "DE", "SG", "CN", "RU", "TW", "vn", "us", "", None, "XX"]
SOFTWARE = [
    "Bkav Pro Internet Security", "Kaspersky Endpoint Security 12", "ESET Endpoint Antivirus", "Microsoft Defender Antivirus",
    "Trend Micro Apex One", "CMC Antivirus", "AVG Free", "Microsoft Office 2021", "Foxit Reader", "Google Chrome",
    "Microsoft Visual C++ 2015-2022 Redistributable (x64)", "Unikey 4.3",
]  # fmt: skip
GB = 1024 * 1024  # KB


def _software(rng: random.Random, today: date) -> str:
    items = []
    for _ in range(rng.randint(0, 4)):
        age = rng.choice([0, 1, 6, 7, 8, 30, 400, -3, None])
        items.append([rng.choice(SOFTWARE), "" if age is None and rng.random() < 0.5 else None if age is None else (today - timedelta(days=age)).isoformat()])
    return json.dumps(items)


def _facts(rng: random.Random, today: date) -> dict[str, str]:
    """Host facts as collected: each one may be missing, empty, or at a threshold's edge."""
    choices = {
        "host.cores": ["", "1", "2", "3", "4", "8", "16"],
        "host.ram_kb": ["", "0", str(4 * GB), "7969177", "7969178", str(8 * GB), str(16 * GB)],
        "host.disks": ["", "[]"]
        + [
            json.dumps([[f"{chr(67 + k)}:", size] for k, size in enumerate(sizes)])
            for sizes in (
                [120 * GB],
                [238 * GB],
                [241591910],
                [241591911],
                [256 * GB],
                [128 * GB, 512 * GB],
                [0],
                [1000 * GB, 64 * GB, 32 * GB],
            )
        ],  # fmt: skip
        "host.tpm_version": ["", "1.2", "2.0", "2.0.1"],
        "host.disk_encryption": ["on", "off", "suspended", ""],
    }
    facts = {key: rng.choice(values) for key, values in choices.items() if rng.random() < 0.7}
    if rng.random() < 0.75:
        facts["host.software"] = rng.choice(["", "[]", _software(rng, today), _software(rng, today)])
    return facts


def _purchase(rng: random.Random, today: date, device_class: str) -> date | None:
    pick = rng.random()
    if pick < 0.1:
        return None
    if pick < 0.25:  # exactly at the end of its service life, or a day either side
        years = POLICY.service_life.years_for(device_class)
        bought = end_of_life(today, -years)
        return bought + timedelta(days=rng.choice([-1, 0, 1]))
    if pick < 0.3:
        return rng.choice([date(2020, 2, 29), date(2024, 2, 29), date(2021, 11, 22)])
    return date(rng.randint(2012, 2026), rng.randint(1, 12), rng.randint(1, 28))


def _varied_devices(n: int, rng: random.Random) -> list[DeviceSubject]:
    """Every device class, status, zone (or none), known and unknown OS, origin, address and sightings."""
    statuses = [s.value for s in DeviceStatus]
    devices = []
    for i in range(n):
        device_class = DEVICE_CLASSES[i % len(DEVICE_CLASSES)]
        today = rng.choice(TODAYS)
        zone = rng.choice(["party_wan", "internet", None])
        site = rng.randint(1, 60)
        subnet = f"10.{site}.{1 if zone == 'party_wan' else 2}.0/24"
        subnets = rng.choice([(), (subnet,), (subnet, "fd00:0:0:1::/64")])
        ip = rng.choice([None, "", f"10.{site}.1.{rng.randint(1, 254)}", f"10.{site}.2.{rng.randint(1, 254)}", "192.168.1.10", "fd00::1:5"])
        other = "internet" if zone == "party_wan" else "party_wan"
        seen = rng.choice([frozenset(), frozenset({zone} - {None}), frozenset({"party_wan", "internet"}), frozenset({other})])
        os_name, os_version = rng.choice(OSES)
        devices.append(
            DeviceSubject(
                id=100_000 + i,
                device_class=device_class,
                site_id=site,
                zone=zone,
                status=rng.choice(statuses),
                today=today,
                policy=POLICY,
                vendor=rng.choice(["Dell", "HP", "Cisco", "Fortinet", None]),
                model=rng.choice(["X", None]),
                os_name=os_name,
                os_version=os_version,
                country_of_origin=rng.choice(COUNTRIES),
                purchase_date=_purchase(rng, today, device_class),
                mgmt_ip=ip,
                zone_subnets=subnets,
                facts=_facts(rng, today) if rng.random() < 0.9 else {},
                zones_seen=seen,
                seen_macs=(f"02:00:00:00:{i >> 8 & 255:02x}:{i & 255:02x}",) if len(seen | {zone} - {None}) > 1 else (),
            )  # fmt: skip
        )
    return devices


def _sites() -> list[tuple[str, SiteSubject]]:
    counts = [
        {}, {("party_wan", "firewall"): 1, ("internet", "firewall"): 1, ("party_wan", "access_switch"): 1, ("internet", "access_switch"): 2, ("party_wan", "bml"): 1},
        {("party_wan", "bml"): 1, ("internet", "firewall"): 1}, {("party_wan", "firewall"): 0, ("internet", "access_switch"): 3},
    ]  # fmt: skip
    return [(f"site {i} in_use={c}", SiteSubject(i, f"S{i}", c)) for i, c in enumerate(counts)]


@cache
def subjects() -> dict[str, list[tuple[str, object]]]:
    """subject family -> (label naming the subject, subject)."""
    bench = _bench()
    fleet, texts = bench.fleet(2_000, POLICY, random.Random(3676))
    configs = _golden_configs() + _lab_configs()
    configs += [(f"bench dev{i} ({platform})", text, platform) for i, (text, platform) in sorted(texts.items())]
    configs += [(f"edge {platform}: {name}", text, platform) for platform, edges in EDGE_CONFIGS.items() for name, text in edges.items()]
    devices = [(f"bench device {d!r}", d) for d in fleet] + [(f"varied device {d!r}", d) for d in _varied_devices(3_000, random.Random(22112026))]
    return {
        "network_config": [(label, parse_config(text, platform)) for label, text, platform in configs],
        "device": devices,
        "site": _sites(),
    }


def _call(func, subject, params):
    try:
        return func(subject, params)
    except Exception as exc:
        return exc


@cache
def outcomes() -> dict[str, list[tuple[str, object, object]]]:
    """rule id -> (subject label, verdict, check's passed) for every subject of its family, computed
    subject by subject and rule by rule in baseline order, verdict first, as the engine does."""
    out: dict[str, list] = {rule.id: [] for rule in VERDICT_RULES}
    for family, items in subjects().items():
        rules = [(rule, get_check(rule.check)) for rule in VERDICT_RULES if get_check(rule.check).subject == family]
        for label, subject in items:
            for rule, registered in rules:
                verdict = _call(registered.verdict, subject, rule.params)
                result = _call(registered.func, subject, rule.params)
                passed = result if isinstance(result, Exception) else result.passed
                out[rule.id].append((label, verdict, passed))
    return out


def _agree(verdict: object, passed: object) -> bool:
    if isinstance(passed, Exception):  # the engine calls the check (and raises) unless the verdict passes it
        return isinstance(verdict, Exception) or verdict is False
    if isinstance(verdict, Exception):
        return False
    return (verdict is False) == (passed is False)


def test_every_verdict_is_exercised() -> None:
    """No verdict escapes: each is used by an enabled rule and has subjects of its family here."""
    with_verdict = {name: c for name, c in registered_checks().items() if c.verdict is not None}
    assert with_verdict, "no check registers a verdict"
    unused = sorted(set(with_verdict) - {r.check for r in VERDICT_RULES})
    assert not unused, f"checks with a verdict but no enabled baseline rule (untested): {unused}"
    families = {c.subject for c in with_verdict.values()}
    assert families <= set(subjects()), f"no subjects for families {sorted(families - set(subjects()))}"
    assert all(subjects()[f] for f in families)
    platforms = {s.platform for _, s in subjects()["network_config"]}
    assert set(PLATFORMS) <= platforms  # golden cases of further platforms join as they are written
    classes = {s.device_class for _, s in subjects()["device"]}
    assert classes == set(DEVICE_CLASSES)


@pytest.mark.parametrize("rule_id", [r.id for r in VERDICT_RULES])
def test_verdict_is_false_exactly_when_check_fails(rule_id: str) -> None:
    bad = [(label, v, p) for label, v, p in outcomes()[rule_id] if not _agree(v, p)]
    shown = "\n".join(f"  {label}: verdict={v!r}, check passed={p!r}" for label, v, p in bad[:5])
    assert not bad, f"{rule_id}: verdict disagrees with the check on {len(bad)} of {len(outcomes()[rule_id])} subjects, e.g.\n{shown}"


@pytest.mark.parametrize("rule_id", [r.id for r in VERDICT_RULES])
def test_subjects_reach_both_outcomes(rule_id: str) -> None:
    passed = [p for _, _, p in outcomes()[rule_id]]
    assert any(p is False for p in passed), f"{rule_id}: no subject fails it"
    assert any(p is not False for p in passed), f"{rule_id}: every subject fails it"


def test_a_device_whose_platform_has_no_parser_is_not_evaluated_and_says_which() -> None:
    from compliance.verdicts import _no_config

    assert _no_config(7, {7: "mikrotik_routeros"}, None) == "not evaluated: no parser for its platform (mikrotik_routeros)"
    # Even with a stored configuration (the parse error says "unsupported platform"), the reason is the parser.
    assert _no_config(7, {7: "mikrotik_routeros"}, "unsupported platform 'mikrotik_routeros'") == "not evaluated: no parser for its platform (mikrotik_routeros)"
    assert _no_config(7, {}, None) == "not evaluated: no parser for its platform"
    assert _no_config(7, {7: "huawei_vrp"}, None) == "not evaluated: no configuration collected"
