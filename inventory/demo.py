"""The demo province: a deterministic Điện Biên-like estate for trying kiemke and for the lab.

Sites come from data/dien_bien.yaml, models from data/demo_catalog.yaml; the random choices
(which sites already got their 2026 firewalls, ages, broken units) use one seeded generator, so
every run builds the same province.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert, select
from sqlmodel import Session

from inventory import audit
from inventory.choices import DeviceSource, DossierStatus, SiteKind
from inventory.models import (
    ApprovedQuantity,
    Device,
    DeviceMac,
    InformationSystem,
    Province,
    Site,
    Subnet,
    Zone,
    utcnow,
)

DATA = Path(__file__).with_name("data")
SEED = 3676
TODAY = date(2026, 11, 1)  # the demo's "now", so ages do not drift between runs
DEPLOYED_SHARE = 0.8  # communes whose 2026 firewalls and switches are already installed

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Lò", "Quàng", "Lường", "Cà", "Giàng", "Sùng", "Vàng", "Đỗ"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Thu", "Hồng", "A", "Thanh"]
GIVEN = ["An", "Bình", "Chiến", "Dung", "Hà", "Hải", "Hòa", "Hương", "Lan", "Mai", "Nam", "Phong", "Sơn", "Thắng", "Tú"]


def ascii_slug(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join(plain.upper().split())


def initials(text: str) -> str:
    return "".join(word[0] for word in ascii_slug(text).split("-"))


@dataclass(frozen=True)
class DemoSite:
    index: int  # 1-based; the site's loopback octet
    code: str
    name: str
    kind: str
    weight: int  # share of the endpoint stock

    @property
    def short(self) -> str:
        return self.code.split("-", 1)[1][:10]

    def subnet(self, zone: str) -> str:
        return f"127.{self.index}.{1 if zone == 'party_wan' else 2}.0/24"


def demo_sites(spec: dict[str, Any]) -> list[DemoSite]:
    sites: list[DemoSite] = []
    for name in spec["provincial_agencies"]:
        sites.append(DemoSite(len(sites) + 1, f"TU-{initials(name)}", name, SiteKind.PROVINCIAL_AGENCY, 4))
    for name in spec["wards"]:
        sites.append(DemoSite(len(sites) + 1, f"P-{ascii_slug(name)}", f"Phường {name}", SiteKind.WARD, 2))
    for name in spec["communes"]:
        sites.append(DemoSite(len(sites) + 1, f"X-{ascii_slug(name)}", f"Xã {name}", SiteKind.COMMUNE, 1))
    return sites


def apportion(total: int, weights: list[int]) -> list[int]:
    """Split total in proportion to weights, exactly (largest remainder)."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    counts = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: total - sum(counts)]:
        counts[i] += 1
    return counts


class _MacSource:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        # 02:... is a locally administered prefix: no real vendor's address is reused.
        value = 0x024B4B000000 + self.n
        return ":".join(f"{(value >> s) & 0xFF:02x}" for s in range(40, -8, -8))


@dataclass
class DemoSummary:
    sites: int
    devices: int
    endpoints: int
    network_devices: int


class DemoAlreadyLoaded(RuntimeError):
    pass


def load_demo(session: Session, *, actor: str, seed: int = SEED) -> DemoSummary:
    spec = yaml.safe_load((DATA / "dien_bien.yaml").read_text(encoding="utf-8"))
    catalog = yaml.safe_load((DATA / "demo_catalog.yaml").read_text(encoding="utf-8"))
    if session.exec(select(Province).where(Province.code == spec["province"]["code"])).first():
        raise DemoAlreadyLoaded(f"the demo province {spec['province']['code']} is already loaded")
    rng = random.Random(seed)
    macs = _MacSource()
    province = Province(code=spec["province"]["code"], name=spec["province"]["name"])
    session.add(province)
    session.flush()

    sites = demo_sites(spec)
    site_ids: dict[str, int] = {}
    zone_ids: dict[tuple[str, str], int] = {}
    for demo_site in sites:
        site = Site(province_id=province.id, code=demo_site.code, name=demo_site.name, kind=demo_site.kind)
        session.add(site)
        session.flush()
        site_ids[demo_site.code] = site.id
        for zone_kind in ("party_wan", "internet"):
            zone = Zone(site_id=site.id, kind=zone_kind)
            session.add(zone)
            session.flush()
            zone_ids[(demo_site.code, zone_kind)] = zone.id
            session.add(Subnet(zone_id=zone.id, cidr=demo_site.subnet(zone_kind)))
    session.flush()

    rows: list[dict[str, Any]] = []
    row_macs: list[list[str]] = []

    def add(
        demo_site: DemoSite,
        device_class: str,
        model: dict,
        *,
        zone: str | None,
        ip: str | None,
        hostname: str,
        status: str = "in_use",
        mac_count: int = 1,
        extra: dict | None = None,
    ) -> None:
        first, last = model["years"]
        year = rng.randint(first, last)
        bought = date(year, rng.randint(1, 12), rng.randint(1, 28))
        if bought > TODAY:
            bought = TODAY
        serial = f"{initials(model['vendor'])[:2]}{demo_site.index:02d}{len(rows) + 1:06d}"
        rows.append(
            {
                "device_class": device_class,
                "site_id": site_ids[demo_site.code],
                "zone_id": zone_ids[(demo_site.code, zone)] if zone else None,
                "hostname": hostname,
                "mgmt_ip": ip,
                "vendor": model["vendor"],
                "model": model["model"],
                "serial": serial,
                "os_name": model.get("os_name"),
                "os_version": model.get("os_version"),
                "country_of_origin": model["origin"] or None,
                "purchase_date": bought,
                "status": status,
                "assigned_user": None,
                "source": DeviceSource.RECORDED.value,
                "platform": model.get("platform"),
                "notes": "",
                **(extra or {}),
            }
        )
        row_macs.append([macs.next() for _ in range(mac_count)] if ip or device_class in ("desktop", "laptop") else [])

    def pick(device_class: str) -> dict:
        models = catalog[device_class]
        return rng.choices(models, weights=[m["weight"] for m in models])[0]

    # Network devices: the BML on the Party WAN and the Internet router exist everywhere; the
    # 2026 firewall and access switch per zone are installed at every agency and most communes.
    deployed = {s.code for s in sites if s.kind == SiteKind.PROVINCIAL_AGENCY or rng.random() < DEPLOYED_SHARE}
    network = 0
    for demo_site in sites:
        plan = [("party_wan", "bml", 1, "BML"), ("internet", "router", 1, "RT")]
        if demo_site.code in deployed:
            plan += [(zone, cls, host, tag) for zone in ("party_wan", "internet") for cls, host, tag in (("firewall", 2, "FW"), ("access_switch", 3, "SW"))]
        for zone, device_class, host, tag in plan:
            z = "PW" if zone == "party_wan" else "INT"
            prefix = 1 if zone == "party_wan" else 2
            add(demo_site, device_class, pick(device_class), zone=zone, ip=f"127.{demo_site.index}.{prefix}.{host}", hostname=f"{demo_site.short}-{z}-{tag}1", mac_count=2)
            network += 1

    # Endpoints: the province's stock spread by site weight.
    weights = [s.weight for s in sites]
    endpoints = 0
    next_host = {(s.code, z): 20 for s in sites for z in ("party_wan", "internet")}
    for device_class, total in spec["endpoint_stock"].items():
        for demo_site, count in zip(sites, apportion(total, weights), strict=True):
            for n in range(count):
                model = pick(device_class)
                zone = "party_wan" if device_class == "desktop" and rng.random() < 0.3 else "internet"
                ip = None
                if device_class in ("desktop", "laptop") and next_host[(demo_site.code, zone)] < 250:
                    ip = f"127.{demo_site.index}.{1 if zone == 'party_wan' else 2}.{next_host[(demo_site.code, zone)]}"
                    next_host[(demo_site.code, zone)] += 1
                roll = rng.random()
                status = "broken" if roll < 0.06 else "in_stock" if roll < 0.09 else "disposed" if roll < 0.10 else "in_use"
                extra = _endpoint_os(rng, device_class, model)
                extra["assigned_user"] = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}" if device_class in ("desktop", "laptop") else None
                tag = {"laptop": "LT", "desktop": "PC", "printer": "PR", "scanner": "SC"}[device_class]
                add(demo_site, device_class, model, zone=zone, ip=ip, hostname=f"{demo_site.short}-{tag}{n + 1:03d}", status=status, extra=extra)
                endpoints += 1

    # Tablets for the Executive Committee members, held by the Provincial Party Office.
    office = sites[0]
    for n in range(spec["tablets"]):
        add(office, "tablet", pick("tablet"), zone="party_wan", ip=None, hostname=f"{office.short}-TB{n + 1:03d}", extra={"os_name": "Android", "os_version": "14"})
        endpoints += 1

    now = utcnow()
    for row in rows:
        row.update(created_at=now, updated_at=now)
    table = Device.__table__
    ids = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars().all()
    mac_rows = [{"device_id": i, "mac": m} for i, ms in zip(ids, row_macs, strict=True) for m in ms]
    session.execute(insert(DeviceMac.__table__), mac_rows)

    _approved(session, sites, site_ids, spec, rows)
    _information_systems(session, site_ids[office.code])
    audit.record(session, actor, "demo-data", "province", province.id, after={"sites": len(sites), "devices": len(rows)})
    session.flush()
    return DemoSummary(sites=len(sites), devices=len(rows), endpoints=endpoints, network_devices=network)


def _endpoint_os(rng: random.Random, device_class: str, model: dict) -> dict[str, str | None]:
    if device_class not in ("desktop", "laptop"):
        return {}
    first = model["years"][0]
    if first < 2017 and rng.random() < 0.35:
        return {"os_name": "Windows 7 Professional", "os_version": "SP1"}
    if first < 2022:
        return {"os_name": "Windows 10 Pro", "os_version": "22H2"}
    # Most machines bought since 2022 are on the current release; some lag a release behind.
    return {"os_name": "Windows 11 Pro", "os_version": rng.choice(["25H2", "25H2", "25H2", "24H2"])}


def _approved(session: Session, sites: list[DemoSite], site_ids: dict[str, int], spec: dict, rows: list[dict]) -> None:
    stock: dict[tuple[int, str], int] = {}
    for row in rows:
        key = (row["site_id"], row["device_class"])
        stock[key] = stock.get(key, 0) + 1
    decision = spec["decision_ref"]
    approved = []
    for demo_site in sites:
        site_id = site_ids[demo_site.code]
        quantities = {"firewall": 2, "access_switch": 2, "bml": 1}
        for device_class in ("laptop", "desktop", "printer", "scanner"):
            # Approved: the stock rounded up by 5% for staff growth after the merger.
            quantities[device_class] = -(-stock.get((site_id, device_class), 0) * 105 // 100)
        if demo_site.index == 1:
            quantities["tablet"] = spec["tablets"]
        approved += [{"site_id": site_id, "device_class": cls, "quantity": qty, "decision_ref": decision} for cls, qty in quantities.items() if qty]
    session.execute(insert(ApprovedQuantity.__table__), approved)


def _information_systems(session: Session, office_site_id: int) -> None:
    systems = [
        ("Hệ thống quản lý văn bản và điều hành", 3, DossierStatus.APPROVED, date(2025, 9, 15)),
        ("Hệ thống thư điện tử công vụ", 3, DossierStatus.APPROVED, date(2025, 6, 2)),
        ("Cổng thông tin điện tử Tỉnh ủy", 2, DossierStatus.APPROVED, date(2024, 11, 20)),
        ("Hệ thống hội nghị truyền hình", 3, DossierStatus.SUBMITTED, None),
        ("Cơ sở dữ liệu đảng viên", 4, DossierStatus.APPROVED, date(2025, 12, 1)),
        ("Hệ thống lưu trữ điện tử", 3, DossierStatus.DRAFTING, None),
        ("Hệ thống chữ ký số", 3, DossierStatus.APPROVED, date(2026, 3, 10)),
        ("Mạng nội bộ Văn phòng Tỉnh ủy", 2, DossierStatus.APPROVED, date(2025, 4, 8)),
        ("Phần mềm kế toán", 2, DossierStatus.NONE, None),
        ("Hệ thống giám sát an toàn thông tin", 3, DossierStatus.APPROVED, date(2026, 5, 19)),
    ]
    for name, level, dossier, assessed in systems:
        session.add(InformationSystem(site_id=office_site_id, name=name, security_level=level, dossier_status=dossier.value, assessed_on=assessed))
