"""The shipped policy loads; broken policy files give errors naming file, item, field and reason."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from collectors.lab.spec import NETWORK_CONFIG_RULES
from compliance.checks.base import PENDING_CHECKS, registered_checks
from compliance.policy import DEFAULT_POLICY_DIR, DEVICE_CLASSES, PolicyError, load_policy

Data = dict[str, Any]


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policy"
    shutil.copytree(DEFAULT_POLICY_DIR, target)
    return target


def edit(directory: Path, name: str, change: Callable[[Data], None]) -> None:
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def rule(data: Data, rule_id: str) -> Data:
    return next(r for r in data["rules"] if r["id"] == rule_id)


def errors(directory: Path) -> list[str]:
    with pytest.raises(PolicyError, match="invalid policy") as info:
        load_policy(directory)
    return [str(issue) for issue in info.value.issues]


# ------------------------------------------------------------------ the shipped policy


def test_shipped_policy_loads() -> None:
    policy = load_policy()
    assert policy.baseline.status == "proposal"
    ids = [r.id for r in policy.baseline.rules]
    assert len(ids) == len(set(ids))
    expected = set(NETWORK_CONFIG_RULES) | {
        "net.firmware_supported", "ep.cpu_cores", "ep.ram", "ep.disk", "ep.os_supported",
        "ep.av_present", "ep.av_fresh", "ep.disk_encryption", "ep.one_zone", "lc.service_life",
        "lc.broken", "origin.allowed", "zone.mac_both_zones", "zone.ip_in_subnet",
        "site.firewall_per_zone", "site.switch_per_zone", "site.bml_party_wan",
    }  # fmt: skip
    assert expected <= set(ids)
    assert policy.rule("zone.mac_both_zones").severity == "critical"


def test_every_rule_check_is_registered_or_pending() -> None:
    policy = load_policy()
    known = set(registered_checks()) | PENDING_CHECKS
    assert {r.check for r in policy.baseline.rules} <= known
    assert set(NETWORK_CONFIG_RULES) <= set(registered_checks())


def test_vietnamese_titles_have_diacritics() -> None:
    for r in load_policy().baseline.rules:
        assert any(ord(ch) > 127 for ch in r.title.vi), r.id


def test_rules_for_device_class() -> None:
    policy = load_policy()
    switch_rules = {r.id for r in policy.rules_for("access_switch")}
    assert "net.telnet_off" in switch_rules and "net.fw_default_deny" not in switch_rules
    assert "net.fw_default_deny" in {r.id for r in policy.rules_for("firewall")}


def test_origin() -> None:
    origin = load_policy().origin
    for code in ("VN", "LA", "KR", "IL", "MX", "US", "JP", "DE", "PL", "se"):
        assert origin.is_allowed(code), code
    for code in ("CN", "TW", "RU", "", None):
        assert not origin.is_allowed(code), code


def test_service_life_and_schedule() -> None:
    policy = load_policy()
    assert policy.service_life.years_for("laptop") == 5
    assert policy.service_life.years_for("other") == 5
    share = policy.schedule.cumulative_share
    assert (share("desktop", 2025), share("desktop", 2026), share("desktop", 2027), share("desktop", 2030)) == (0, 40, 80, 100)
    assert share("firewall", 2026) == share("tablet", 2026) == 100
    assert share("server", 2026) is None


@pytest.mark.parametrize(
    ("os_name", "version", "entry_id", "eos"),
    [
        ("Microsoft Windows 10 Pro", "22H2", "win_10", date(2025, 10, 14)),
        ("Windows 10 Enterprise LTSC", "21H2", "win_10_ltsc_2021", date(2027, 1, 12)),
        ("Windows 11 Pro", "23H2", "win_11_23h2", date(2025, 11, 11)),
        ("Windows 11 Enterprise", "10.0.22631", "win_11_ent_23h2", date(2026, 11, 10)),
        ("Windows 7 Professional", "6.1.7601", "win_7", date(2020, 1, 14)),
        ("Cisco IOS", "12.2(55)SE12", "ios_12", date(2019, 10, 31)),
        ("Cisco IOS", "15.2(7)E4", "ios_15_2_e", date(2027, 10, 31)),
        ("FortiOS", "7.2.8", "fortios_7_2", date(2026, 9, 30)),
        ("FortiOS", "6.0.14", "fortios_6_0", date(2022, 9, 29)),
    ],
)
def test_end_of_support_lookup(os_name: str, version: str, entry_id: str, eos: date) -> None:
    entry = load_policy().end_of_support.lookup(os_name, version)
    assert entry is not None and (entry.id, entry.end_of_support) == (entry_id, eos)


def test_end_of_support_unknown() -> None:
    assert load_policy().end_of_support.lookup("Ubuntu", "24.04") is None


def test_budget_shows_the_mismatch() -> None:
    plan = load_policy().budget.plan("db_2026_2030")
    assert plan.stated_total == 64000
    assert plan.phasing == {2026: 35000, 2027: 24700, 2028: 4300}
    assert plan.phasing_total == 64000
    assert plan.lines_total == 60485.95
    assert plan.lines_gap == 3514.05


def test_prices_are_a_proposal() -> None:
    prices = load_policy().prices
    assert prices.status == "proposal"
    assert prices.unit_price("firewall") and prices.unit_price("bml") is None
    assert set(prices.unit_prices) <= set(DEVICE_CLASSES)


# ------------------------------------------------------------------ broken copies


def test_unknown_check_name(policy_dir: Path) -> None:
    edit(policy_dir, "baseline.yaml", lambda d: rule(d, "net.telnet_off").update(check="net.telnet_of"))
    assert errors(policy_dir) == ["baseline.yaml: rule 'net.telnet_off': field 'check': unknown check 'net.telnet_of'"]


def test_duplicate_rule_id(policy_dir: Path) -> None:
    edit(policy_dir, "baseline.yaml", lambda d: d["rules"].append(dict(rule(d, "net.vty_acl"))))
    assert errors(policy_dir) == ["baseline.yaml: rule 'net.vty_acl': field 'id': duplicate"]


def test_bad_severity(policy_dir: Path) -> None:
    edit(policy_dir, "baseline.yaml", lambda d: rule(d, "net.ssh_v2_only").update(severity="urgent"))
    [message] = errors(policy_dir)
    assert message.startswith("baseline.yaml: rule 'net.ssh_v2_only': field 'severity': Input should be 'critical'")


def test_unknown_device_class(policy_dir: Path) -> None:
    edit(policy_dir, "baseline.yaml", lambda d: rule(d, "ep.ram").update(applies_to=["desktop", "notebook"]))
    [message] = errors(policy_dir)
    assert message.startswith("baseline.yaml: rule 'ep.ram': field 'applies_to.1': unknown device class 'notebook'")


def test_missing_and_mistyped_params(policy_dir: Path) -> None:
    def change(d: Data) -> None:
        rule(d, "net.ntp_two_servers")["params"] = {"min_servers": "two", "fortiguard_counts": False}
        rule(d, "net.exec_timeout")["params"] = {}
        rule(d, "net.telnet_off")["params"] = {"strict": True}

    edit(policy_dir, "baseline.yaml", change)
    assert errors(policy_dir) == [
        "baseline.yaml: rule 'net.telnet_off': field 'params.strict': unknown parameter for this check",
        "baseline.yaml: rule 'net.ntp_two_servers': field 'params.min_servers': expected int, got str 'two'",
        "baseline.yaml: rule 'net.exec_timeout': field 'params.max_minutes': missing (required by the check, type int)",
    ]


def test_bool_is_not_an_int_param(policy_dir: Path) -> None:
    edit(policy_dir, "baseline.yaml", lambda d: rule(d, "net.exec_timeout").update(params={"max_minutes": True}))
    assert "expected int, got bool True" in errors(policy_dir)[0]


def test_unknown_field_is_rejected(policy_dir: Path) -> None:
    edit(policy_dir, "baseline.yaml", lambda d: rule(d, "lc.broken").update(severty="low"))
    assert errors(policy_dir) == ["baseline.yaml: rule 'lc.broken': field 'severty': unknown field"]


def test_schedule_not_cumulative(policy_dir: Path) -> None:
    edit(policy_dir, "schedule.yaml", lambda d: d["groups"][1].update(cumulative={2026: 40, 2027: 30, 2028: 100}))
    [message] = errors(policy_dir)
    assert message == ("schedule.yaml: group 'endpoints': field 'cumulative': percentages must be cumulative (non-decreasing): 2026: 40% then 2027: 30%")


def test_schedule_over_100_percent(policy_dir: Path) -> None:
    edit(policy_dir, "schedule.yaml", lambda d: d["groups"][1].update(cumulative={2026: 40, 2027: 80, 2028: 120}))
    assert errors(policy_dir)[0].startswith("schedule.yaml: group 'endpoints': field 'cumulative.2028':")


def test_schedule_class_in_two_groups(policy_dir: Path) -> None:
    edit(policy_dir, "schedule.yaml", lambda d: d["groups"][2]["classes"].append("laptop"))
    assert errors(policy_dir) == ["schedule.yaml: group 'tablets': field 'classes': device class 'laptop' already scheduled in group 'endpoints'"]


def test_service_life_unknown_class(policy_dir: Path) -> None:
    edit(policy_dir, "service_life.yaml", lambda d: d["by_class"].update(pc=5))
    assert errors(policy_dir)[0].startswith("service_life.yaml: field 'by_class.pc.[key]': unknown device class 'pc'")


def test_origin_bad_and_duplicate_codes(policy_dir: Path) -> None:
    def change(d: Data) -> None:
        d["countries"].append({"code": "KR", "group": "partner", "name": {"vi": "Hàn Quốc", "en": "Korea"}})
        d["countries"].append({"code": "Kor", "group": "partner", "name": {"vi": "Hàn", "en": "Korea"}})

    edit(policy_dir, "origin.yaml", change)
    found = errors(policy_dir)
    assert found[0].startswith("origin.yaml: country 'Kor': field 'code': String should match pattern")
    assert len(found) == 1  # duplicates are checked once the file is valid


def test_origin_duplicate_code(policy_dir: Path) -> None:
    edit(policy_dir, "origin.yaml", lambda d: d["countries"].append(dict(d["countries"][0])))
    assert errors(policy_dir) == ["origin.yaml: country 'VN': field 'code': duplicate"]


def test_end_of_support_bad_regex(policy_dir: Path) -> None:
    edit(policy_dir, "end_of_support.yaml", lambda d: d["entries"][0].update(os="windows (xp"))
    [message] = errors(policy_dir)
    assert message.startswith("end_of_support.yaml: entry 'win_xp': field 'os': invalid regular expression")


def test_negative_budget_amount(policy_dir: Path) -> None:
    edit(policy_dir, "budget.yaml", lambda d: d["plans"][0]["lines"][0].update(amount=-1))
    assert errors(policy_dir)[0].startswith("budget.yaml: line 'security_devices': field 'amount':")


def test_missing_file_and_yaml_syntax_reported_together(policy_dir: Path) -> None:
    (policy_dir / "prices.yaml").unlink()
    (policy_dir / "origin.yaml").write_text("countries: [VN, \n", encoding="utf-8")
    found = errors(policy_dir)
    assert found[0].startswith("origin.yaml: YAML syntax error at line")
    assert found[1] == f"prices.yaml: file missing in {policy_dir}"


def test_error_message_lists_every_issue(policy_dir: Path) -> None:
    edit(policy_dir, "baseline.yaml", lambda d: rule(d, "net.telnet_off").update(severity="x", check="nope"))
    edit(policy_dir, "schedule.yaml", lambda d: d["groups"][0].update(classes=["firewal"]))
    with pytest.raises(PolicyError, match="invalid policy") as info:
        load_policy(policy_dir)
    text = str(info.value)
    assert "baseline.yaml: rule 'net.telnet_off': field 'severity'" in text
    assert "schedule.yaml: group 'network': field 'classes.0': unknown device class 'firewal'" in text


def test_the_same_files_are_validated_once_and_a_changed_file_is_read_anew(policy_dir: Path) -> None:
    first = load_policy(policy_dir)
    assert load_policy(policy_dir) is first  # same bytes: the process's parsed policy
    edit(policy_dir, "baseline.yaml", lambda data: rule(data, "net.telnet_off").update(severity="low"))
    changed = load_policy(policy_dir)
    assert changed is not first and changed.fingerprint != first.fingerprint
    assert changed.rule("net.telnet_off").severity == "low"
    edit(policy_dir, "baseline.yaml", lambda data: rule(data, "net.telnet_off").update(severity="catastrophic"))
    with pytest.raises(PolicyError):  # an invalid file is refused every time, never served from memory
        load_policy(policy_dir)
    with pytest.raises(PolicyError):
        load_policy(policy_dir)
