"""Small hand-made inventories for tests."""

from __future__ import annotations

from sqlmodel import Session

from inventory.choices import Role
from inventory.models import Province, Site, Subnet, Zone
from inventory.users import add_user


def make_province(session: Session, sites: int = 2) -> dict[str, dict[str, int]]:
    """Sites S1..Sn, each with both zones; returns {code: {"site": id, "party_wan": id, "internet": id}}."""
    province = Province(code="TEST", name="Tỉnh Thử")
    session.add(province)
    session.flush()
    out: dict[str, dict[str, int]] = {}
    for n in range(1, sites + 1):
        site = Site(province_id=province.id, code=f"S{n}", name=f"Xã Thử {n}", kind="commune")
        session.add(site)
        session.flush()
        out[site.code] = {"site": site.id}
        for octet, kind in ((1, "party_wan"), (2, "internet")):
            zone = Zone(site_id=site.id, kind=kind)
            session.add(zone)
            session.flush()
            session.add(Subnet(zone_id=zone.id, cidr=f"10.{n}.{octet}.0/24"))
            out[site.code][kind] = zone.id
    session.commit()
    return out


def one_user_per_role(session: Session, prefix: str, password: str) -> dict[str, str]:
    """A user `<prefix>_<role>` for every role; returns {role: username}."""
    users = {}
    for role in Role:
        users[role.value] = f"{prefix}_{role.value}"
        add_user(session, users[role.value], role.value, password, full_name=f"Người dùng {role.value}", actor="test")
    return users
