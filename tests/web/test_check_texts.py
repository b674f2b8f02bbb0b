"""Check texts in Vietnamese (web/check_texts.py): every expected/actual text the checks write has
a Vietnamese rendering, and finding pages show it in Vietnamese and the stored text in English.

The texts are those the checks really write: every registered check, with its rules' params (and
each boolean param flipped), over test_verdicts' subjects (golden and lab configs, the benchmark's
fleet, varied devices, sites) and the subjects below that reach the branches those miss; every
`CheckResult(...)` written inside a check function must be reached, so a new branch cannot slip
by. The engine's own violations (unrecorded MACs) are taken from an evaluation and, as literals,
from compliance/engine.py itself.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from compliance import engine
from compliance.checks import device, network, site
from compliance.checks.base import CheckResult, registered_checks
from compliance.configparse import parse_config
from compliance.outcome import evaluate_rule
from compliance.subjects import DeviceSubject, SiteSubject
from compliance.verdicts import _no_config as no_config
from inventory.models import Device, Finding
from tests.compliance.test_verdicts import POLICY, subjects
from tests.web.conftest import csrf_token
from web.check_texts import CHECK_TEXTS, EVIDENCE_TEXTS, vietnamese, vietnamese_evidence

CHECK_MODULES = (device, network, site)
TODAY = date(2026, 12, 3)
GB = 1024 * 1024  # KB

# English words that must not be left in a Vietnamese rendering (config keywords aside).
ENGLISH_WORDS = (
    "not", "collected", "enabled", "disabled", "days", "cores", "none", "reported", "expected", "only", "seen", "recorded",
    "installed", "allowed", "found", "without", "default", "unknown", "ends", "bought", "years", "servers", "hosts",
    "communities", "management", "signatures", "supported", "zone", "zones", "applicable", "never", "invalid", "rule",
)  # fmt: skip
# Config statements quoted as they are written on the device.
CONFIG_WORDS = ("transport input none", "default action permit", "interzone-default", "PING-ONLY")  # the last: a profile name


def _device(**fields: Any) -> DeviceSubject:
    base = {"id": 1, "device_class": "laptop", "site_id": 1, "zone": "internet", "status": "in_use", "today": TODAY, "policy": POLICY}
    return DeviceSubject(**(base | fields))


def _av(*entries: dict[str, Any]) -> dict[str, str]:
    return {"host.antivirus": json.dumps([{"name": "Microsoft Defender Antivirus"} | entry for entry in entries])}


def _disks(*disks: list[Any]) -> dict[str, str]:
    return {"host.disks": json.dumps(list(disks))}


# Where a MAC was learnt, as the engine writes it: more places than an evidence line names.
PLACES = tuple(engine._place(f"sw{i}", f"Gi1/0/{i}", "party_wan" if i % 2 else "internet") for i in range(1, 10))

# Devices reaching the branches of the agent-reported facts (disk kinds, anti-virus, TPM, Secure
# Boot, encryption states) and of zones, which the varied fleet reaches only by chance.
EXTRA_DEVICES = [
    _device(facts=_disks(["Samsung 980", 512 * GB, "SSD"])),
    _device(facts=_disks(["WD Blue", 1024 * GB, "HDD"])),
    _device(facts=_disks(["Disk", 512 * GB, None], ["Small", 16 * GB, "SSD"])),
    _device(facts=_disks(["Samsung", 128 * GB, "SSD"])),
    _device(facts=_av({"enabled": True, "up_to_date": True, "signature_date": "2026-12-02"})),
    _device(facts=_av({"enabled": True, "up_to_date": False, "signature_date": "2026-10-01"})),
    _device(facts=_av({"enabled": False, "signature_date": "2026-12-02"}, {"name": "Kaspersky Endpoint Security", "enabled": False})),
    _device(facts=_av({"enabled": True, "up_to_date": True})),
    _device(facts=_av({"enabled": True, "up_to_date": False})),
    _device(facts=_av({"enabled": True})),
    _device(facts={"host.antivirus": "[]"}),
    _device(facts={"host.secure_boot": "enabled"}),
    _device(facts={"host.tpm_version": "2.0"}),
    _device(facts={"host.tpm_version": "2.0", "host.secure_boot": "enabled"}),
    _device(facts={"host.tpm_version": "2.0", "host.secure_boot": "disabled"}),
    _device(facts={"host.tpm_version": "2.0", "host.secure_boot": "unsupported"}),
    _device(facts={"host.tpm_version": "1.2", "host.secure_boot": "enabled"}),
    _device(facts={"host.tpm_version": "0", "host.secure_boot": "enabled"}),
    *(_device(facts={"host.disk_encryption": state}) for state in ("on", "off", "partial", "suspended")),
    _device(zone=None),
    _device(zone="party_wan", zones_seen=frozenset({"party_wan"})),
    _device(zone="party_wan", zones_seen=frozenset({"internet"}), seen_macs=("02:00:00:00:00:01",)),
    _device(zones_seen=frozenset({"party_wan", "internet"}), seen_macs=("02:00:00:00:00:02",), seen_at=(f"MAC 02:00:00:00:00:02 learnt at {engine._where(PLACES)}",)),
    _device(mgmt_ip="10.1.2.9", zone_subnets=("10.1.2.0/24",)),
    _device(mgmt_ip="10.9.9.9", zone_subnets=("10.1.2.0/24", "fd00:0:0:1::/64")),
    _device(status="broken", purchase_date=date(2015, 1, 1), country_of_origin="CN", os_name="Windows 7 Professional", os_version="SP1"),
    _device(os_name="Windows 10 Pro", os_version=None),
]
EXTRA_SITES = [SiteSubject(90, "S90", {("party_wan", "firewall"): 2, ("internet", "bml"): 1})]


def _param_sets(check_name: str) -> list[Mapping[str, Any]]:
    """The params of every baseline rule using the check, and each with one boolean flipped."""
    out = []
    for rule in (r for r in POLICY.baseline.rules if r.check == check_name):
        out.append(rule.params)
        out += [dict(rule.params) | {name: not value} for name, value in rule.params.items() if isinstance(value, bool)]
    return out


def _constructions() -> set[tuple[str, int]]:
    """(file, line) of each `CheckResult(...)` written inside a function of the check modules."""
    found = set()
    for module in CHECK_MODULES:
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            for call in (n for n in ast.walk(func) if isinstance(n, ast.Call)):
                if isinstance(call.func, ast.Name) and call.func.id == "CheckResult":
                    found.add((module.__file__, call.lineno))
    return found


def _engine_literals() -> set[str]:
    """The expected/actual texts written as literals in the engine's own violations."""
    tree = ast.parse(Path(engine.__file__).read_text(encoding="utf-8"))
    texts = set()
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        if isinstance(call.func, ast.Name) and call.func.id in ("Violation", "_violation"):
            args = call.args[5:7] + [k.value for k in call.keywords if k.arg in ("expected", "actual")]
            texts |= {a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value}
    return texts


@cache
def collected() -> tuple[dict[str, tuple[str, bool | None, str]], dict[str, str], set[tuple[str, int]]]:
    """text -> (check name, passed, "expected"/"actual") of its first sighting; evidence line ->
    check name; and the constructions reached."""
    reached: set[tuple[str, int]] = set()

    def recording(*args: Any, **kwargs: Any) -> CheckResult:
        caller = sys._getframe(1)
        reached.add((caller.f_code.co_filename, caller.f_lineno))
        return CheckResult(*args, **kwargs)

    family_subjects = {family: [s for _, s in items] for family, items in subjects().items()}
    family_subjects["device"] = family_subjects["device"] + EXTRA_DEVICES
    family_subjects["site"] = family_subjects["site"] + EXTRA_SITES
    texts: dict[str, tuple[str, bool | None, str]] = {}
    evidence: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as patch:
        for module in CHECK_MODULES:
            patch.setattr(module, "CheckResult", recording)
        for name, registered in sorted(registered_checks().items()):
            if registered.func.__module__ not in {module.__name__ for module in CHECK_MODULES}:
                continue  # registered by a test elsewhere in the run (e.g. a check made to raise)
            params_sets = _param_sets(name)
            assert params_sets, f"{name}: no baseline rule uses it"
            for subject, params in itertools.product(family_subjects[registered.subject], params_sets):
                result = registered.func(subject, params)
                for field_name in ("expected", "actual"):
                    text = getattr(result, field_name)
                    if text:
                        texts.setdefault(text, (name, result.passed, field_name))
                for line in result.evidence:
                    evidence.setdefault(line, name)
    orphan = (1, "02:00:00:00:00:09", frozenset({"party_wan", "internet"}), PLACES[:2])
    for v in engine.evaluate([], [], POLICY, orphan_macs=[orphan]).violations:
        for field_name in ("expected", "actual"):
            texts.setdefault(getattr(v, field_name), (v.rule_id, False, field_name))
        for line in v.evidence:
            evidence.setdefault(line, v.rule_id)
    for text in _engine_literals():
        texts.setdefault(text, ("engine", False, "literal"))
    return texts, evidence, reached


def outcome_texts() -> dict[str, tuple[str, ...]]:
    """The texts of a rule not evaluated (compliance/outcome.py, compliance/verdicts.py, shown
    by the device page's verdicts) -> the parts quoted as they are (parser reasons, errors)."""
    cores = POLICY.rule("ep.cpu_cores")
    rw = POLICY.rule("net.snmp_no_rw_community")
    unreadable = parse_config("hostname x\nsnmp-server community\nline vty 0 4\n transport input ssh\n", "cisco_ios")
    outcomes = [
        evaluate_rule(cores.model_copy(update={"check": "no.such_check"}), _device()),
        evaluate_rule(cores, _device(facts={"host.cores": "four"})),  # int("four") raises in the check
        evaluate_rule(rw, unreadable),
    ]
    texts = {o.actual: () for o in outcomes}
    assert any(text.startswith("not evaluated: line 2 could not be read: ") for text in texts), texts
    texts = {text: (text.partition(": ")[2],) if text.startswith("check error: ") else tuple(u.reason for u in unreadable.unreadable) for text in texts}
    texts |= {no_config(7, {}, None): (), no_config(7, {7: "cisco_ios"}, None): (), no_config(7, {7: "cisco_ios"}, "unexpected end"): ("unexpected end",)}
    texts |= {no_config(7, {7: "mikrotik_routeros"}, None): ("mikrotik_routeros",)}
    return texts


def _is_data(text: str, check: str, passed: bool | None, field_name: str) -> bool:
    """Texts that are the device's own data, shown as they are: an address, a country code, the
    names of the anti-virus products found running."""
    if field_name != "actual":
        return False
    return (check == "zone.ip_in_subnet" and passed is not None) or (check == "origin.allowed" and text != "unknown origin") or (check == "ep.av_present" and passed is True)


def _checked_texts() -> Iterator[tuple[str, tuple[str, bool | None, str]]]:
    for text, seen in sorted(collected()[0].items()):
        if not _is_data(text, *seen):
            yield text, seen


def test_every_check_result_construction_is_reached() -> None:
    missing = sorted(_constructions() - collected()[2])
    assert not missing, f"branches no subject here reaches (add a subject): {missing}"


def test_every_text_has_a_vietnamese_rendering() -> None:
    texts = list(_checked_texts())
    assert len(texts) > 500  # the fleet's data makes many; the shapes are what is tested
    untranslated = [(text, seen) for text, seen in texts if vietnamese(text) in (None, text)]
    shown = "\n".join(f"  {text!r} ({seen})" for text, seen in untranslated[:20])
    assert not untranslated, f"{len(untranslated)} of {len(texts)} texts have no Vietnamese rendering, e.g.\n{shown}"


def test_not_evaluated_texts_have_a_vietnamese_rendering() -> None:
    untranslated = [text for text in outcome_texts() if vietnamese(text) in (None, text)]
    assert not untranslated


def test_no_english_word_is_left() -> None:
    words = re.compile(r"\b(" + "|".join(ENGLISH_WORDS) + r")\b", re.I)
    left = []
    quoted_parts = {text: (*CONFIG_WORDS, *quoted) for text, quoted in outcome_texts().items()}
    for text, seen in [*_checked_texts(), *((text, ("outcome", None, "actual")) for text in outcome_texts())]:
        rendered = vietnamese(text) or ""
        for quoted in quoted_parts.get(text, CONFIG_WORDS):
            rendered = rendered.replace(quoted, "")
        if match := words.search(rendered):
            left.append((text, vietnamese(text), match[0], seen))
    shown = "\n".join(f"  {text!r} -> {vi!r} ({word!r}, {seen})" for text, vi, word, seen in left[:20])
    assert not left, f"{len(left)} renderings keep English words, e.g.\n{shown}"


def test_every_pattern_is_used() -> None:
    """No shape in the table that no check writes (a renamed text would leave one behind)."""
    texts = [text for text, _ in _checked_texts()] + list(outcome_texts())
    unused = [entry.pattern.pattern for entry in CHECK_TEXTS if not any(entry.pattern.fullmatch(text) for text in texts)]
    assert not unused, f"patterns no check text fits: {unused}"


# Evidence lines that are quotes alone: config lines, SNMP values, the end-of-support list's entry.
QUOTED_EVIDENCE = re.compile(r"\d+: .*|hrMemorySize = \d+ KB|hrSWInstalledName: .+|end_of_support\.yaml: .+", re.S)


def _worded_evidence() -> list[tuple[str, str]]:
    """Evidence lines with the checks' own English words around the quotes."""
    lines = sorted(collected()[1].items())
    # ep.disk_encryption's evidence is the agent's own description of the encryption.
    return [(line, check) for line, check in lines if not QUOTED_EVIDENCE.fullmatch(line) and check != "ep.disk_encryption"]


def test_evidence_words_have_a_vietnamese_rendering() -> None:
    lines = _worded_evidence()
    assert {check for _, check in lines} >= {"ep.cpu_cores", "ep.disk", "ep.tpm_secure_boot", "ep.av_present", "ep.av_fresh", "ep.one_zone", "zone.mac_both_zones", "site.bml_party_wan"}
    untranslated = [(line, check) for line, check in lines if vietnamese_evidence(line) in (None, line)]
    assert not untranslated, f"{len(untranslated)} of {len(lines)} evidence lines keep their English words, e.g. {untranslated[:10]}"
    words = re.compile(r"\b(" + "|".join(ENGLISH_WORDS) + r")\b", re.I)
    left = [(line, vietnamese_evidence(line)) for line, _ in lines if words.search(vietnamese_evidence(line) or "")]
    assert not left, left[:10]
    unused = [e.pattern.pattern for e in EVIDENCE_TEXTS if not any(e.pattern.fullmatch(line) for line, _ in lines)]
    assert not unused, f"evidence patterns no check line fits: {unused}"


def test_quoted_evidence_is_left_alone() -> None:
    quoted = [line for line in collected()[1] if QUOTED_EVIDENCE.fullmatch(line)]
    assert any(line[0].isdigit() for line in quoted) and any(line.startswith("hrMemorySize") for line in quoted)
    assert all(vietnamese_evidence(line) is None for line in quoted)


@pytest.mark.parametrize(
    ("english", "vi"),
    [
        (">= 4 cores", "≥ 4 nhân"),
        ("2 cores", "2 nhân"),
        ("7.6 GB", "7,6 GB"),
        ("1024.0 GB", "1.024,0 GB"),
        ("SSD >= 256 GB", "ổ SSD ≥ 256 GB"),
        ("disk type (SSD or HDD) not reported", "không báo loại ổ (SSD hay HDD)"),
        ("TPM not collected (no agent reports it; record it in the device import)", "Chưa thu thập TPM (không tác nhân nào báo cáo; hãy nhập trong tệp nhập thiết bị)"),
        ("TPM 0", "không có TPM"),
        ("TPM 2.0; Secure Boot not collected", "TPM phiên bản 2.0; chưa thu thập Secure Boot"),
        ("signatures at most 30 days old", "mẫu nhận diện mã độc không cũ quá 30 ngày"),
        ("Bkav Pro disabled, Kaspersky disabled", "Bkav Pro đang tắt, Kaspersky đang tắt"),
        ("telnet not allowed", "Telnet tắt"),
        ("only in party_wan", "chỉ ở mạng diện rộng của Đảng"),
        ("MAC seen in one zone only", "MAC chỉ xuất hiện ở một vùng mạng"),
        ("2 v1/v2c communities; group G0 at noauth", "2 community v1/v2c; nhóm G0 ở mức noauth"),
        ("line vty 0 4: 30 min; line con 0: never (default)", "line vty 0 4: 30 phút; line con 0: không bao giờ tự ngắt (mặc định)"),
        ("line vty 0 4: 7.5 min", "line vty 0 4: 7,5 phút"),
        ("line vty 0 4: no access-class; admin fw: 10.0.0.0 255.0.0.0", "line vty 0 4: không có access-class; admin fw: chỉ cho phép từ 10.0.0.0 255.0.0.0"),
        (">= 1 firewall in use in each of party_wan, internet", "≥ 1 tường lửa đang sử dụng ở mỗi vùng: mạng diện rộng của Đảng, mạng Internet"),
        ("party_wan: 1, internet: 0", "Mạng diện rộng của Đảng: 1, Mạng Internet: 0"),
    ],
)
def test_renderings(english: str, vi: str) -> None:
    assert vietnamese(english) == vi


@pytest.mark.parametrize(
    ("english", "vi"),
    [
        ("disks reported: Disk 476.9 GB (type not reported), C: 16.0 GB SSD", "ổ đĩa được báo: Disk 476,9 GB (không báo loại), C: 16,0 GB SSD"),
        ("agent: Bkav Pro: signatures 7.2 of unknown date, up to date: not reported", "tác nhân: Bkav Pro: mẫu nhận diện 7.2 không rõ ngày, đã cập nhật: không báo"),
        ("MAC 02:00:00:00:00:09 learnt at sw1 Gi1/0/1 (Party WAN); and 3 more", "MAC 02:00:00:00:00:09 được học tại sw1 Gi1/0/1 (mạng diện rộng của Đảng); và 3 nơi khác"),
        ("missing in party_wan", "thiếu ở mạng diện rộng của Đảng"),
        ("hrProcessorTable: 4 rows", "hrProcessorTable: 4 dòng"),
    ],
)
def test_evidence_renderings(english: str, vi: str) -> None:
    assert vietnamese_evidence(english) == vi


def test_unknown_shapes_are_not_rendered() -> None:
    assert vietnamese("something no check writes") is None
    assert vietnamese("") is None


@pytest.mark.db
def test_finding_pages_show_the_texts_in_the_page_language(engine, seed, login_as) -> None:
    expected, actual = "TPM >= 2.0 and Secure Boot enabled", "TPM not collected (no agent reports it; record it in the device import)"
    evidence = "agent: Microsoft Defender Antivirus (disabled)\n12: transport input telnet ssh"
    with Session(engine) as session:
        site_id = session.get(Device, seed.hostile_device_id).site_id
        finding = Finding(rule_id="ep.tpm_secure_boot", subject_key=f"device:{seed.hostile_device_id}:tpm", device_id=seed.hostile_device_id,
                          site_id=site_id, severity="medium", expected=expected, actual=actual, evidence=evidence, first_seen=datetime.now(UTC))  # fmt: skip
        session.add(finding)
        session.commit()
        finding_id = finding.id
    client = login_as("viewer")
    pages = (f"/findings/{finding_id}", "/findings/", f"/devices/{seed.hostile_device_id}")
    for page in pages:
        body = client.get(page).get_data(as_text=True)
        assert "TPM ≥ 2.0 và bật Secure Boot" in body and "Chưa thu thập TPM (không tác nhân nào" in body, page
        assert "TPM not collected" not in body, page
    body = client.get(f"/findings/{finding_id}").get_data(as_text=True)
    assert "tác nhân: Microsoft Defender Antivirus (đang tắt)\n12: transport input telnet ssh" in body
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    for page in pages:
        body = client.get(page).get_data(as_text=True)
        assert "TPM &gt;= 2.0 and Secure Boot enabled" in body and "TPM not collected (no agent reports it" in body, page
        assert "Chưa thu thập TPM" not in body, page
    body = client.get(f"/findings/{finding_id}").get_data(as_text=True)
    assert evidence in body


def test_a_rule_left_not_evaluated_for_a_missing_statement_reads_in_vietnamese():
    from web.check_texts import vietnamese

    text = "not evaluated: not in the configuration: no `config system global` in this file; line 4 could not be read: no address"
    assert vietnamese(text) == "chưa đánh giá: không có trong cấu hình: no `config system global` in this file; dòng 4 không đọc được: no address"


def test_every_parser_saying_a_file_is_only_a_fragment_reads_in_vietnamese():
    """Each parser's own sentence for "this file is only part of a configuration" is in the table
    (a parser whose wording changes fails here, not silently in the page)."""
    import importlib
    import pkgutil

    import compliance.configparse as configparse
    from web.check_texts import _FRAGMENTS, vietnamese

    fragments = {getattr(importlib.import_module(f"compliance.configparse.{m.name}"), "_FRAGMENT", None) for m in pkgutil.iter_modules(configparse.__path__)} - {None}
    assert fragments and fragments <= set(_FRAGMENTS), fragments - set(_FRAGMENTS)
    ios = "no `hostname` and no `line` blocks in this file: not a whole running-config (a fragment)"
    assert vietnamese(f"not evaluated: not in the configuration: {ios}, and no `line vty` in it") == (
        "chưa đánh giá: không có trong cấu hình: không có `hostname` và không có khối `line` nào trong tệp: không phải toàn bộ running-config (chỉ là một đoạn), và trong đó không có `line vty`"
    )
    junos = "no `system login user` or class, and the file has no `version` statement, so it is not a whole configuration"
    assert vietnamese(f"not evaluated: not in the configuration: {junos}") == (
        "chưa đánh giá: không có trong cấu hình: không có `system login user` hay class đăng nhập, và tệp không có câu lệnh `version` nên không phải toàn bộ cấu hình"
    )
    assert vietnamese("not evaluated: not in the configuration: no `ip http server` or `no ip http server` in this file; the default depends on the platform and release") == (
        "chưa đánh giá: không có trong cấu hình: không có `ip http server` hay `no ip http server` trong tệp này; mặc định tùy nền tảng và phiên bản phần mềm"
    )
