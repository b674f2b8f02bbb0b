import pytest

from inventory.identity import IdentityConflict, IdentityIndex, normalize_mac, normalize_serial


@pytest.mark.parametrize("raw", ["AA:BB:CC:DD:EE:FF", "aa-bb-cc-dd-ee-ff", "aabb.ccdd.eeff", "AABBCCDDEEFF", " aa:bb:cc:dd:ee:ff "])
def test_mac_notations_normalise(raw):
    assert normalize_mac(raw) == "aa:bb:cc:dd:ee:ff"


@pytest.mark.parametrize("raw", ["aa:bb:cc:dd:ee", "zz:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff:00", ""])
def test_bad_macs_are_refused(raw):
    with pytest.raises(ValueError, match="not a MAC address"):
        normalize_mac(raw)


def test_serial_normalises_case_and_blank():
    assert normalize_serial(" fgt60f-01 ") == "FGT60F-01"
    assert normalize_serial("  ") is None


def test_match_order_serial_then_mac_then_ip():
    index = IdentityIndex()
    index.add(1, serial="S1", macs=["aa:aa:aa:aa:aa:01"], zone_id=10, ip="10.0.0.1")
    index.add(2, serial="S2", macs=["aa:aa:aa:aa:aa:02"], zone_id=10, ip="10.0.0.2")
    assert index.match(serial="S1") == 1
    assert index.match(serial="NEW", macs=["aa:aa:aa:aa:aa:02"]) == 2
    assert index.match(zone_id=10, ip="10.0.0.2") == 2
    assert index.match(zone_id=11, ip="10.0.0.2") is None  # same IP, other zone: another device
    assert index.match(serial="NEW") is None


def test_keys_naming_two_devices_conflict():
    index = IdentityIndex()
    index.add(1, serial="S1")
    index.add(2, macs=["aa:aa:aa:aa:aa:02"])
    with pytest.raises(IdentityConflict, match="more than one"):
        index.match(serial="S1", macs=["aa:aa:aa:aa:aa:02"])
