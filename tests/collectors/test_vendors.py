"""collectors.vendors: sysObjectID -> vendor, vendor/model -> origin, sysDescr -> OS, and the
validation of its data files."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.vendors import (
    VendorData,
    VendorDataError,
    canonical_vendor,
    origin_for,
    os_from_sys_descr,
    vendor_for_sys_object_id,
)


def test_vendor_tables() -> None:
    assert vendor_for_sys_object_id("1.3.6.1.4.1.9.1.1208") == "Cisco"
    assert vendor_for_sys_object_id(".1.3.6.1.4.1.12356.101.1.641") == "Fortinet"
    assert vendor_for_sys_object_id("1.3.6.1.4.1.11.2.3.7.11.141") == "HP"
    assert vendor_for_sys_object_id("1.3.6.1.4.1.999999999.1") is None
    assert vendor_for_sys_object_id("1.3.6.1.2.1.1") is None and vendor_for_sys_object_id(None) is None
    assert canonical_vendor("Cisco Systems, Inc.") == "Cisco" and canonical_vendor("HEWLETT-PACKARD Co.") == "HP"
    assert canonical_vendor("Ban Co yeu Chinh phu") == "Ban Cơ yếu Chính phủ"
    assert canonical_vendor("Some New Maker") == "Some New Maker" and canonical_vendor("  ") is None
    assert origin_for("Huawei") == "CN" and origin_for("TP-LINK Technologies Co., Ltd.") == "CN"
    assert origin_for("Lenovo", "ThinkPad E14 Gen 5") == "JP" and origin_for("Lenovo", "ThinkCentre neo 50s") == "CN"
    assert origin_for("Ban Cơ yếu Chính phủ", "BML-VPN 1000") == "VN" and origin_for("CMS") == "VN"
    assert origin_for("Unknown Maker") is None and origin_for(None) is None
    assert os_from_sys_descr("FortiGate-60F v7.2.8,build1639,240313 (GA.M)") == ("FortiOS", "7.2.8")
    assert os_from_sys_descr("Juniper Networks, Inc. ex2300-24t, kernel JUNOS 21.4R3-S1.6,") == ("Junos", "21.4R3-S1.6")
    assert os_from_sys_descr("Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E8, RELEASE") == ("IOS", "15.2(7)E8")
    assert os_from_sys_descr("<script>") == (None, None)


@pytest.mark.parametrize(
    "enterprises, origins, message",
    [
        ("enterprises: {9: Cisco}\nos: [{match: '(', name: X}]", "origins: {}", "bad regular expression"),
        ("enterprises: {x: Cisco}", "origins: {}", "not an enterprise number"),
        ("enterprises: {9: Cisco}\nagents: [8072]", "origins: {}", "not a number listed"),
        ("enterprises: {9: Cisco}", "origins: {Cisco: USA}", "ISO 3166"),
        ("enterprises: {9: Cisco}", "origins: {Cisco: {default: US, models: [{match: x}]}}", "models[0]"),
        ("enterprises: {9: Cisco, 11: HP}\naliases: {HP: [Cisco]}", "origins: {}", "already names vendor"),
        ("enterprises: [", "origins: {}", "not valid YAML"),
        ("{}", "origins: {}", "missing section 'enterprises'"),
    ],
)
def test_vendor_data_is_validated(tmp_path: Path, enterprises: str, origins: str, message: str) -> None:
    (tmp_path / "e.yaml").write_text(enterprises)
    (tmp_path / "o.yaml").write_text(origins)
    with pytest.raises(VendorDataError, match=message.replace("(", r"\(").replace("[", r"\[")) as info:
        VendorData.from_files(tmp_path / "e.yaml", tmp_path / "o.yaml")
    assert "e.yaml" in str(info.value) or "o.yaml" in str(info.value)
