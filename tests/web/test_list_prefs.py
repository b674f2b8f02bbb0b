"""inventory.list_prefs: saved filters (names, limits, owners, sharing) and chosen columns."""

from __future__ import annotations

import pytest

from inventory import list_prefs
from inventory.list_prefs import FilterRefused, choose_columns, chosen_columns, clean_query, delete_filter, filters_for, save_filter
from inventory.users import add_user

pytestmark = pytest.mark.db

KEYS = ("site", "device_class", "sort", "desc")


def _users(session):
    a, _password = add_user(session, "an", "viewer", "mat-khau-thu-123", actor="test")
    b, _password = add_user(session, "binh", "planner", "mat-khau-thu-123", actor="test")
    session.flush()
    return a.id, b.id


def test_clean_query_keeps_only_known_non_empty_arguments_in_order():
    args = {"desc": "1", "evil": "x", "site": " S1 ", "device_class": "", "sort": "hostname"}
    assert clean_query(args, KEYS) == "site=S1&sort=hostname&desc=1"
    assert clean_query({"site": "A&B=C"}, KEYS) == "site=A%26B%3DC"


def test_names_are_checked_and_the_same_name_replaces(session):
    a, _b = _users(session)
    for name, code in (("   ", "empty_name"), ("x" * 101, "name_too_long")):
        with pytest.raises(FilterRefused) as refused:
            save_filter(session, a, "devices", name, "site=S1", shared=False)
        assert refused.value.code == code
    with pytest.raises(FilterRefused, match="query_too_long"):
        save_filter(session, a, "devices", "dài", "q=" + "x" * 2000, shared=False)
    first = save_filter(session, a, "devices", "  Máy   in ", "site=S1", shared=False)
    again = save_filter(session, a, "devices", "Máy in", "site=S2", shared=True)
    assert first.id == again.id and again.name == "Máy in" and again.query == "site=S2" and again.shared


def test_a_user_keeps_at_most_the_limit(session, monkeypatch):
    a, _b = _users(session)
    monkeypatch.setattr(list_prefs, "MAX_FILTERS", 2)
    save_filter(session, a, "devices", "1", "site=S1", shared=False)
    save_filter(session, a, "devices", "2", "site=S2", shared=False)
    with pytest.raises(FilterRefused, match="too_many"):
        save_filter(session, a, "devices", "3", "site=S3", shared=False)
    save_filter(session, a, "devices", "2", "site=S9", shared=False)  # replacing is not adding


def test_own_and_shared_filters_and_who_deletes_them(session):
    a, b = _users(session)
    mine = save_filter(session, a, "devices", "riêng", "site=S1", shared=False)
    shared = save_filter(session, a, "devices", "chung", "site=S2", shared=True)
    save_filter(session, a, "findings", "khác danh sách", "site=S3", shared=True)
    assert [(f.name, f.mine, f.owner) for f in filters_for(session, a, "devices")] == [("chung", True, "an"), ("riêng", True, "an")]
    assert [(f.name, f.mine, f.owner) for f in filters_for(session, b, "devices")] == [("chung", False, "an")]
    assert not delete_filter(session, shared.id, b, "devices")  # another's shared filter
    assert not delete_filter(session, mine.id, a, "findings")  # another list's id
    assert delete_filter(session, mine.id, a, "devices")
    assert [f.name for f in filters_for(session, a, "devices")] == ["chung"]


def test_chosen_columns_in_the_lists_order_unknown_ones_dropped(session):
    a, b = _users(session)
    known, default = ("id", "hostname", "mac", "user"), ("id", "hostname")
    assert chosen_columns(session, a, "devices", known, default) == ["id", "hostname"]
    assert choose_columns(session, a, "devices", ["user", "bogus", "hostname"], known) == ["hostname", "user"]
    assert chosen_columns(session, a, "devices", known, default) == ["hostname", "user"]
    assert chosen_columns(session, a, "devices", ("id", "user"), default) == ["user"]  # a column gone from the list
    assert chosen_columns(session, b, "devices", known, default) == ["id", "hostname"]
    choose_columns(session, a, "devices", [], known)
    assert chosen_columns(session, a, "devices", known, default) == ["id", "hostname"]
