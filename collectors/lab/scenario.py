"""Build the lab's devices from the inventory: every simulated device is a recorded device of a
site and zone (or a deliberate stranger), with the facts and rule violations it carries.

Deterministic: the same database and profile always give the same lab. The scenario twists:
- strangers: devices that answer but are not recorded (tag `unrecorded`);
- silent devices: recorded, but nothing answers at their address (behaviour `dead`);
- one laptop's MAC learnt by the switches of both zones of one site (tag `both_zones`);
- a stranger of a disallowed origin; recorded Huawei gear is disallowed too;
- hostile data: HTML and script in sysDescr, bytes that are not UTF-8, a 64 KB string;
- one device that answers slowly and one SSH device that hangs mid-session.

The manifest expects a finding only where the collected data can show it (`observable_only`):
a violation on a silent or hanging device, on a stranger the demo does not discover, or seen
only by a switch that does not answer is listed under `unobservable` with its reason.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import yaml
from sqlalchemy import select
from sqlmodel import Session

from collectors.lab.configs import (
    OTHER_PLATFORMS,
    applicable_rules,
    cisco_ios_config,
    fortios_config,
    implied_violations,
    platform_module,
)
from collectors.lab.spec import (
    ArpEntry,
    FdbEntry,
    HostResources,
    LabDevice,
    LabInterface,
    LldpNeighbour,
    SnmpAccess,
    SshAccess,
)
from inventory.demo import DATA as DEMO_DATA
from inventory.models import Device, DeviceMac, Subnet
from inventory.repository import DeviceFilter, device_query, in_inventory

Profile = Literal["small", "province"]
PROFILES: tuple[str, ...] = ("small", "province")
SNMP_PORT = 1161  # >= 1024: snmpsim drops root before binding
SSH_PORT = 2222
SSH_PLATFORMS = ("cisco_ios", "fortinet", *OTHER_PLATFORMS)
# The slow, hanging and oversized-banner devices are picked among these (the banner is written in their syntax).
TWISTED_PLATFORMS = ("cisco_ios", "fortinet")
HOSTILE_HTML = '<b>Switch</b><script>alert("kiemke")</script><img src=x onerror=alert(1)>'
HOSTILE_BYTES = "hex:" + (b"Core \xff\xfe sw\xc3\x28 " + "Điện Biên".encode("cp1258", errors="replace")).hex()
OVERSIZED = "X" * 65536
ROAMER_PORT = 20  # the Party WAN switch port that learns the roaming laptop's MAC

# What each rule reads, so the manifest expects a finding only where the collected data shows it.
RECORDED_RULES = ("origin.allowed", "net.firmware_supported", "ep.os_supported")  # the inventory's own fields
HOST_RULES = ("ep.cpu_cores", "ep.ram", "ep.disk", "ep.av_present", "ep.av_fresh")  # the endpoint's HOST-RESOURCES-MIB
SIGHTING_RULES = ("zone.mac_both_zones", "ep.one_zone")  # other devices' forwarding tables


@dataclass(frozen=True)
class LabPorts:
    """The ports every device of one lab listens on. Addresses come from the inventory, so two
    labs of the same province on one machine (the demo's and a test run's) differ by port."""

    snmp: int = SNMP_PORT  # UDP
    ssh: int = SSH_PORT  # TCP


DEMO_PORTS = LabPorts()


@dataclass(frozen=True)
class LabSecrets:
    """Credentials every lab device accepts (generated per KIEMKE_HOME, never hard-coded)."""

    community: str
    v3_user: str
    v3_auth_key: str
    v3_priv_key: str
    ssh_username: str
    ssh_password: str
    ssh_secret: str


@dataclass(frozen=True)
class _Row:
    id: int
    site_code: str
    site_index: int
    zone: str | None
    device_class: str
    hostname: str
    ip: str | None
    vendor: str
    model: str
    serial: str
    os_name: str
    os_version: str
    origin: str
    platform: str | None
    status: str
    macs: tuple[str, ...]


def _h(*parts: object) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


def _catalog() -> dict[tuple[str, str], dict]:
    raw = yaml.safe_load((DEMO_DATA / "demo_catalog.yaml").read_text(encoding="utf-8"))
    return {(m["vendor"], m["model"]): m | {"class": cls} for cls, models in raw.items() for m in models}


def _mac(seed: int) -> str:
    value = 0x02AB00000000 | (seed & 0xFFFFFFFF)
    return ":".join(f"{(value >> s) & 0xFF:02x}" for s in range(40, -8, -8))


def _site_index(ip: str | None, subnet: str | None) -> int:
    source = ip or (subnet or "").split("/")[0]
    parts = source.split(".")
    return int(parts[1]) if len(parts) == 4 and parts[0] == "127" else 0


def load_rows(session: Session) -> list[_Row]:
    macs: dict[int, list[str]] = {}
    for device_id, mac in session.execute(select(DeviceMac.device_id, DeviceMac.mac).order_by(DeviceMac.id)):
        macs.setdefault(device_id, []).append(mac)
    subnets = {zone_id: cidr for zone_id, cidr in session.execute(select(Subnet.zone_id, Subnet.cidr))}
    query = device_query(DeviceFilter()).where(in_inventory()).order_by(Device.id)  # (device, site code, zone)
    rows = []
    for device, code, zone in session.execute(query):
        rows.append(
            _Row(
                id=device.id,
                site_code=code,
                site_index=_site_index(device.mgmt_ip, subnets.get(device.zone_id)),
                zone=zone,
                device_class=device.device_class,
                hostname=device.hostname or f"dev{device.id}",
                ip=device.mgmt_ip,
                vendor=device.vendor or "",
                model=device.model or "",
                serial=device.serial or "",
                os_name=device.os_name or "",
                os_version=device.os_version or "",
                origin=device.country_of_origin or "",
                platform=device.platform,
                status=device.status,
                macs=tuple(macs.get(device.id, ())),
            )  # fmt: skip
        )
    return rows


class ScenarioError(RuntimeError):
    pass


def build_lab(session: Session, profile: Profile, secrets: LabSecrets, *, today: date | None = None, ports: LabPorts = DEMO_PORTS) -> list[LabDevice]:
    """The lab's devices for a profile: `small` = one commune, `province` = every site."""
    from compliance.policy import load_policy

    policy = load_policy()
    origin_allowed = policy.origin.is_allowed
    today = today or date.today()
    rows = [r for r in load_rows(session) if r.ip and r.ip.startswith("127.") and r.zone]
    if not rows:
        raise ScenarioError("no recorded device has a loopback address: load the demo province first (kiemke demo-data)")
    network = [r for r in rows if r.device_class in ("firewall", "access_switch", "bml", "router")]
    sites = sorted({r.site_code for r in network}, key=lambda code: min(r.site_index for r in network if r.site_code == code))
    if profile == "small":
        # The small lab needs a commune with firewalls and switches, at least three of them Cisco or
        # FortiGate on SSH (the slow, hanging and oversized-banner devices).
        full = [
            code
            for code in sites
            if {"firewall", "access_switch"} <= {r.device_class for r in network if r.site_code == code} and sum(r.platform in TWISTED_PLATFORMS for r in network if r.site_code == code) >= 3
        ]
        communes = [code for code in full if code.startswith("X-")] or full
        if not communes:
            raise ScenarioError("no site has both a firewall and an access switch recorded")
        sites = communes[:1]
    builder = _Builder(secrets, today, _catalog(), policy, ports)
    devices: list[LabDevice] = []
    for code in sites:
        site_rows = [r for r in rows if r.site_code == code]
        devices += builder.site(code, site_rows, endpoints_per_zone=4 if profile == "small" else 1)
    devices = builder.twists(devices, small=profile == "small")
    devices = [_with_origin_finding(d, origin_allowed) for d in devices]
    return observable_only(devices, technician_site(devices))


def technician_site(devices: list[LabDevice]) -> str:
    """The site `kiemke demo` works on like a technician: it polls that site's endpoints and
    discovers its strangers. The scenario's twists (strangers, the silent endpoint, the slow and
    hanging devices, the cross-zone MAC) all sit on it: the lab's first site."""
    return devices[0].site_code if devices else ""


def observable_only(devices: list[LabDevice], technician: str) -> list[LabDevice]:
    """Move each violation the collected data cannot show into `unobservable`, with the reason.
    The manifest then lists as violations only what `kiemke demo` can find."""
    out = []
    for device in devices:
        seen, hidden = [], []
        for rule in device.violations:
            why = _unobservable(device, rule, devices, technician)
            if why:
                hidden.append((rule, why))
            else:
                seen.append(rule)
        out.append(replace(device, violations=tuple(seen), unobservable=tuple(hidden)) if hidden else device)
    return out


def _unobservable(device: LabDevice, rule: str, devices: list[LabDevice], technician: str) -> str | None:
    """Why nothing kiemke collects can show that `device` breaks `rule`; None when it can."""
    if not device.recorded and device.site_code != technician:
        return f"unrecorded, and kiemke demo discovers only {technician}"
    if rule in RECORDED_RULES and device.recorded:
        return None  # read from the inventory, answered or not
    if device.behaviour == "dead":
        return "nothing answers at its address"
    if rule in SIGHTING_RULES:
        macs = {i.mac for i in device.interfaces}
        witnesses = [d for d in devices if d.zone != device.zone and d.site_code == device.site_code and any(e.mac in macs for e in d.fdb)]
        if not any(d.behaviour == "normal" for d in witnesses):
            return "no switch of the other zone that learns its MAC answers: " + (", ".join(f"{d.hostname} ({d.behaviour})" for d in witnesses) or "none learns it")
        return None
    if device.behaviour == "hang":
        return "its SNMP agent never answers and its SSH session hangs before the running-config"
    if rule in HOST_RULES and device.site_code != technician:
        return f"endpoints are polled only on {technician} by kiemke demo (kiemke poll --endpoints --site {device.site_code} collects it)"
    return None


def _with_origin_finding(device: LabDevice, allowed) -> LabDevice:
    if allowed(device.country_of_origin) or "origin.allowed" in device.violations:
        return device
    return replace(device, violations=tuple(sorted(device.violations + ("origin.allowed",))))


class _Builder:
    def __init__(self, secrets: LabSecrets, today: date, catalog: dict, policy, ports: LabPorts) -> None:
        self.policy = policy
        self.ports = ports
        self.secrets = secrets
        self.today = today
        self.catalog = catalog

    # -- one site -----------------------------------------------------------------------------

    def site(self, code: str, rows: list[_Row], *, endpoints_per_zone: int) -> list[LabDevice]:  # noqa: ARG002 (one signature for every site builder)
        out: list[LabDevice] = []
        for zone in ("party_wan", "internet"):
            zone_rows = [r for r in rows if r.zone == zone]
            endpoints = [r for r in zone_rows if r.device_class in ("desktop", "laptop") and r.status == "in_use" and r.macs]
            endpoints = endpoints[:endpoints_per_zone]
            ep_devices = [self.endpoint(r) for r in endpoints]
            infra = [r for r in zone_rows if r.device_class in ("firewall", "access_switch", "bml", "router")]
            firewall = next((r for r in infra if r.device_class == "firewall"), None)
            switch = next((r for r in infra if r.device_class == "access_switch"), None)
            for row in infra:
                out.append(self.network(row, endpoints=ep_devices, firewall=firewall, switch=switch))
            out += ep_devices
        return out

    def _snmp(self) -> SnmpAccess:
        s = self.secrets
        return SnmpAccess(port=self.ports.snmp, community=s.community, v3_user=s.v3_user, v3_auth_key=s.v3_auth_key, v3_priv_key=s.v3_priv_key)

    def _interfaces(self, row: _Row, count: int, names: list[str]) -> tuple[LabInterface, ...]:
        interfaces = []
        for n in range(count):
            mac = row.macs[n] if n < len(row.macs) else _mac(_h(row.serial, n))
            up = n < 2 or _h(row.serial, "up", n) % 3 != 0
            interfaces.append(LabInterface(index=n + 1, name=names[n], mac=mac, speed_mbps=1000, oper_up=up))
        return tuple(interfaces)

    def network(self, row: _Row, *, endpoints: list[LabDevice], firewall: _Row | None, switch: _Row | None) -> LabDevice:
        entry = self.catalog.get((row.vendor, row.model), {})
        is_switch = row.device_class == "access_switch"
        if is_switch:
            names = [f"GigabitEthernet1/0/{n}" for n in range(1, 25)] + ["GigabitEthernet1/0/25", "GigabitEthernet1/0/26"]
            interfaces = self._interfaces(row, 26, names)
            uplink = 26
        else:
            names = ["wan1", "wan2", "internal1", "internal2", "internal3", "internal4", "internal5", "dmz"]
            interfaces = self._interfaces(row, 8, names)
            uplink = 3
        fdb: list[FdbEntry] = []
        arp: list[ArpEntry] = []
        lldp: list[LldpNeighbour] = []
        if is_switch:
            # Each sample endpoint is learnt on its own access port; the firewall on the uplink.
            for n, endpoint in enumerate(endpoints):
                fdb.append(FdbEntry(mac=endpoint.interfaces[0].mac, port_index=n + 1))
            if firewall is not None and firewall.macs:
                fdb.append(FdbEntry(mac=firewall.macs[0], port_index=uplink))
                lldp.append(LldpNeighbour(local_port_index=uplink, remote_sysname=firewall.hostname, remote_port="internal1", remote_chassis_mac=firewall.macs[0]))
        elif row.device_class == "firewall":
            for endpoint in endpoints:
                arp.append(ArpEntry(ip=endpoint.address, mac=endpoint.interfaces[0].mac, if_index=uplink))
            if switch is not None and switch.macs:
                arp.append(ArpEntry(ip=switch.ip or "", mac=switch.macs[0], if_index=uplink))
                lldp.append(LldpNeighbour(local_port_index=uplink, remote_sysname=switch.hostname, remote_port="GigabitEthernet1/0/26", remote_chassis_mac=switch.macs[0]))
        ssh = None
        violations: frozenset[str] = frozenset()
        if row.platform in SSH_PLATFORMS:
            is_firewall = self.filters_traffic(row.device_class)
            chosen = self._violations(row, is_firewall)
            subnet = f"{row.ip.rsplit('.', 1)[0]}.0/24" if row.ip else "10.0.0.0/24"
            if row.platform == "fortinet":
                config = fortios_config(
                    row.hostname, chosen, is_firewall=is_firewall, mgmt_subnet=subnet, model=row.model.replace(" ", "-"), version=row.os_version, username=self.secrets.ssh_username
                )
            elif row.platform == "cisco_ios":
                config = cisco_ios_config(
                    row.hostname, chosen, is_firewall=is_firewall, mgmt_subnet=subnet, os_version=row.os_version, username=self.secrets.ssh_username, enable_secret=self.secrets.ssh_secret
                )
            else:
                config = platform_module(row.platform).running_config(
                    row.hostname, chosen, is_firewall=is_firewall, mgmt_subnet=subnet, model=row.model, os_version=row.os_version, username=self.secrets.ssh_username
                )
            violations = implied_violations(chosen, row.platform)
            ssh = SshAccess(
                port=self.ports.ssh, platform=row.platform, username=self.secrets.ssh_username, password=self.secrets.ssh_password,
                secret=self.secrets.ssh_secret if row.platform == "cisco_ios" else "", running_config=config,
            )  # fmt: skip
        support = self.policy.end_of_support.lookup(row.os_name, row.os_version) if row.os_name else None
        if support is not None and support.end_of_support <= self.today and row.device_class != "bml":
            violations = violations | {"net.firmware_supported"}
        return LabDevice(
            key=f"dev-{row.id}",
            site_code=row.site_code,
            zone=row.zone,  # type: ignore[arg-type]
            device_class=row.device_class,
            hostname=row.hostname,
            address=row.ip or "",
            vendor=row.vendor,
            model=row.model,
            serial=row.serial,
            os_name=row.os_name,
            os_version=row.os_version,
            sys_object_id=entry.get("sys_object_id", "1.3.6.1.4.1.8072.3.2.10"),
            sys_descr=_sys_descr(row),
            country_of_origin=row.origin,
            recorded=True,
            snmp=self._snmp(),
            ssh=ssh,
            interfaces=interfaces,
            fdb=tuple(fdb),
            arp=tuple(arp),
            lldp=tuple(lldp),
            violations=tuple(sorted(violations)),
        )

    def filters_traffic(self, device_class: str) -> bool:
        """Firewalls, and every class the policy expects to filter forwarded traffic (the Internet
        routers): their configurations carry an inbound filtering policy, as net.fw_default_deny reads."""
        rule = next((r for r in self.policy.baseline.rules if r.id == "net.fw_default_deny"), None)
        return device_class == "firewall" or (rule is not None and rule.applies(device_class))

    def _violations(self, row: _Row, is_firewall: bool) -> frozenset[str]:
        """About a third hardened; the rest break one to three rules, chosen by serial."""
        seed = _h(row.serial, "violations")
        if seed % 3 == 0:
            return frozenset()
        rules = sorted(applicable_rules(row.platform or "", is_firewall=is_firewall))
        count = 1 + seed % 3
        return frozenset(rules[(seed >> (4 * n)) % len(rules)] for n in range(count))

    def endpoint(self, row: _Row) -> LabDevice:
        entry = self.catalog.get((row.vendor, row.model), {})
        cores, ram_gb, disk_gb = entry.get("cores", 4), entry.get("ram_gb", 8), entry.get("disk_gb", 256)
        seed = _h(row.serial, "endpoint")
        av_kind = seed % 4  # 0: none, 1: stale, 2-3: fresh
        software = [("Microsoft Office Professional Plus 2019", "2021-03-02"), ("Unikey 4.3 RC5", "2020-07-15"), ("Foxit PDF Reader 12.1", "2023-11-20")]
        if av_kind:
            age = 40 if av_kind == 1 else 2
            software.append(("Bkav Pro Internet Security", (self.today - timedelta(days=age)).isoformat()))
        host = HostResources(
            cores=cores,
            ram_kb=ram_gb * 1024 * 1024,
            disks=(("C:\\ Label:  Serial Number 7c2f11a0", disk_gb * 1024 * 1024),),
            os_descr=f"Hardware: Intel64 Family 6 Model 140 - Software: {row.os_name} {row.os_version}",
            software=tuple(software),
        )
        violations = set()
        if cores < 4:
            violations.add("ep.cpu_cores")
        if ram_gb < 8:
            violations.add("ep.ram")
        if disk_gb < 256:
            violations.add("ep.disk")
        support = self.policy.end_of_support.lookup(row.os_name, row.os_version) if row.os_name else None
        if support is not None and support.end_of_support <= self.today:
            violations.add("ep.os_supported")
        if av_kind == 0:
            violations.add("ep.av_present")
        elif av_kind == 1:
            violations.add("ep.av_fresh")
        mac = row.macs[0]
        return LabDevice(
            key=f"dev-{row.id}", site_code=row.site_code, zone=row.zone, device_class=row.device_class,  # type: ignore[arg-type]
            hostname=row.hostname, address=row.ip or "", vendor=row.vendor, model=row.model, serial=row.serial,
            os_name=row.os_name, os_version=row.os_version, sys_object_id="1.3.6.1.4.1.311.1.1.3.1.1",
            sys_descr=host.os_descr, country_of_origin=row.origin, recorded=True, snmp=self._snmp(),
            interfaces=(LabInterface(index=1, name="Intel(R) Ethernet Connection I219-LM", mac=mac, speed_mbps=1000, oper_up=True),),
            host=host, violations=tuple(sorted(violations)),
        )  # fmt: skip

    # -- scenario twists ------------------------------------------------------------------------

    def twists(self, devices: list[LabDevice], *, small: bool) -> list[LabDevice]:
        by_site: dict[str, list[LabDevice]] = {}
        for device in devices:
            by_site.setdefault(device.site_code, []).append(device)
        sites = list(by_site)
        out = list(devices)

        def swap(old: LabDevice, new: LabDevice) -> None:
            out[out.index(old)] = new

        # Silent recorded devices: the Internet router of every fifth site and one endpoint.
        for n, code in enumerate(sites):
            router = next((d for d in by_site[code] if d.device_class == "router"), None)
            if router and (small or n % 5 == 2):
                swap(router, replace(router, behaviour="dead", tags=router.tags + ("silent",)))
        endpoints = [d for d in out if d.host is not None and d.site_code == sites[0]]
        if len(endpoints) >= 3:
            silent = endpoints[-1]
            swap(silent, replace(silent, behaviour="dead", tags=silent.tags + ("silent",)))

        # One laptop's MAC learnt in both zones of the first site: by its own Internet switch and
        # on port 20 of the Party WAN switch. Both switches stay well-behaved (below), so the
        # headline finding is really collected.
        internet_eps = [d for d in out if d.site_code == sites[0] and d.zone == "internet" and d.host is not None and d.behaviour != "dead"]
        pw_switch = next((d for d in out if d.site_code == sites[0] and d.zone == "party_wan" and d.device_class == "access_switch"), None)
        witnesses: set[str] = set()
        if internet_eps and pw_switch is not None:
            roamer = internet_eps[0]
            mac = roamer.interfaces[0].mac
            swap(pw_switch, replace(pw_switch, fdb=pw_switch.fdb + (FdbEntry(mac=mac, port_index=ROAMER_PORT),)))
            swap(roamer, replace(roamer, violations=tuple(sorted(set(roamer.violations) | {"zone.mac_both_zones", "ep.one_zone"})), tags=roamer.tags + ("both_zones",)))
            witnesses = {d.key for d in out if d.device_class == "access_switch" and any(e.mac == mac for e in d.fdb)}

        # Slow and hanging SSH devices, and hostile SNMP data, on the first site's devices; never
        # a switch that witnesses the cross-zone MAC.
        ssh_devices = [d for d in out if d.site_code == sites[0] and d.ssh is not None and d.ssh.platform in TWISTED_PLATFORMS and d.behaviour != "dead" and d.key not in witnesses]
        if ssh_devices:
            swap(ssh_devices[0], replace(ssh_devices[0], behaviour="slow", tags=ssh_devices[0].tags + ("slow",)))
        if len(ssh_devices) > 1:
            swap(ssh_devices[1], replace(ssh_devices[1], behaviour="hang", tags=ssh_devices[1].tags + ("hang",)))
        bml = next((d for d in out if d.site_code == sites[0] and d.device_class == "bml"), None)
        if bml is not None:
            swap(bml, replace(bml, sys_descr=HOSTILE_HTML, tags=bml.tags + ("hostile_html",)))
        if len(ssh_devices) > 2:
            # A 64 KB login banner: SSH streams it, the collector must store it whole or refuse cleanly.
            big = ssh_devices[-1]
            assert big.ssh is not None
            config = _with_banner(big.ssh.running_config, big.ssh.platform, OVERSIZED)
            swap(big, replace(big, ssh=replace(big.ssh, running_config=config), tags=big.tags + ("oversized_config",)))

        # Strangers: unrecorded devices on the first site's Internet network (and a few more).
        for n, code in enumerate(sites if not small else sites[:1]):
            if n % 10:
                continue
            index = next(int(d.address.split(".")[1]) for d in by_site[code] if d.address.startswith("127."))
            out += self.strangers(code, index)
        return out

    def strangers(self, code: str, index: int) -> list[LabDevice]:
        base = f"127.{index}.2"  # .251-.253: above every address the demo gives recorded devices
        snmp = self._snmp()

        def iface(seed: str, name: str) -> tuple[LabInterface, ...]:
            return (LabInterface(index=1, name=name, mac=_mac(_h(code, seed)), speed_mbps=1000, oper_up=True),)

        tp_link = LabDevice(
            key=f"stranger-{code}-switch", site_code=code, zone="internet", device_class="access_switch",
            hostname=f"TL-SG2428P-{index}", address=f"{base}.251", vendor="TP-Link", model="TL-SG2428P",
            serial=f"TPL{index:03d}2428", os_name="TP-Link OS", os_version="2.0.1", sys_object_id="1.3.6.1.4.1.11863.5.1",
            sys_descr=HOSTILE_BYTES, country_of_origin="CN", recorded=False, snmp=snmp, interfaces=iface("tplink", "gigabitEthernet 1/0/1"),
            violations=("origin.allowed",), tags=("unrecorded", "disallowed_origin", "hostile_bytes"),
        )  # fmt: skip
        laptop = LabDevice(
            key=f"stranger-{code}-laptop", site_code=code, zone="internet", device_class="laptop",
            hostname=f"LAPTOP-{index:02d}CAFE", address=f"{base}.252", vendor="Unknown", model="",
            serial="", os_name="Windows 10 Home", os_version="22H2", sys_object_id="1.3.6.1.4.1.311.1.1.3.1.1",
            sys_descr="Hardware: Intel64 Family 6 - Software: Windows 10 Home 22H2",
            country_of_origin="", recorded=False, snmp=snmp, interfaces=iface("laptop", "Realtek PCIe GbE"),
            host=HostResources(cores=2, ram_kb=4 * 1024 * 1024, disks=(("C:\\", 500 * 1024 * 1024),), os_descr="Windows 10 Home 22H2", software=()),
            violations=("ep.cpu_cores", "ep.ram", "ep.os_supported", "ep.av_present", "origin.allowed"),
            tags=("unrecorded",),
        )  # fmt: skip
        oversized = LabDevice(
            key=f"stranger-{code}-printer", site_code=code, zone="internet", device_class="printer",
            hostname=f"NPI{index:03d}F2", address=f"{base}.253", vendor="HP", model="LaserJet Pro M404dn",
            serial=f"VNB{index:03d}404", os_name="", os_version="", sys_object_id="1.3.6.1.4.1.11.2.3.9.1",
            sys_descr="HP ETHERNET MULTI-ENVIRONMENT", country_of_origin="US", recorded=False, snmp=snmp,
            interfaces=(LabInterface(index=1, name=OVERSIZED, mac=_mac(_h(code, "printer")), speed_mbps=100, oper_up=True),),
            tags=("unrecorded", "oversized"),
        )  # fmt: skip
        return [tp_link, laptop, oversized]


def _with_banner(config: str, platform: str, text: str) -> str:
    if platform == "fortinet":
        banner = f'config system replacemsg admin "pre_admin-disclaimer-text"\n    set buffer "{text}"\nend\n'
        return config.rstrip("\n") + "\n" + banner
    lines = config.splitlines()
    at = next((i for i, line in enumerate(lines) if line.startswith("line con")), len(lines) - 1)
    return "\n".join(lines[:at] + [f"banner motd ^C{text}^C", "!"] + lines[at:]) + "\n"


def _sys_descr(row: _Row) -> str:
    if row.vendor == "Cisco":
        return (
            f"Cisco IOS Software, {row.model} Software, Version {row.os_version}, RELEASE SOFTWARE (fc2)\r\n"
            "Technical Support: http://www.cisco.com/techsupport\r\nCopyright (c) 1986-2024 by Cisco Systems, Inc."
        )
    if row.vendor == "Fortinet":
        return f"{row.model.replace(' ', '-')} v{row.os_version}"
    if row.vendor == "Juniper":
        return f"Juniper Networks, Inc. ex2300-24t Ethernet Switch, kernel JUNOS {row.os_version}"
    if row.vendor == "Huawei":
        return f"Huawei Versatile Routing Platform Software\r\nVRP (R) software, Version 5.170 ({row.model} {row.os_version})"
    return f"{row.vendor} {row.model} {row.os_name} {row.os_version}".strip()


def manifest(devices: list[LabDevice], profile: str, *, credentials_ref: str, ports: LabPorts = DEMO_PORTS) -> dict:
    """The answer key: every device with its address, ports, facts and violations; no secrets."""
    entries = []
    for device in devices:
        entry = device.to_json()
        entry["credentials_ref"] = credentials_ref
        for access in ("snmp", "ssh"):
            if entry[access]:
                for secret in ("community", "v3_auth_key", "v3_priv_key", "password", "secret"):
                    entry[access].pop(secret, None)
        if entry.get("ssh"):
            entry["ssh"].pop("running_config", None)
        if len(entry["sys_descr"]) > 1024:
            entry["sys_descr"] = f"<{len(entry['sys_descr'])} characters>"
        for interface in entry["interfaces"]:
            if len(interface["name"]) > 1024:
                interface["name"] = f"<{len(interface['name'])} characters>"
        entry["unobservable"] = dict(device.unobservable)
        entries.append(entry)
    return {"profile": profile, "ports": asdict(ports), "technician_site": technician_site(devices), "devices": entries}


def write_running_configs(devices: list[LabDevice], directory: Path) -> None:
    """Each SSH device's running-config as a file, for golden comparisons and check-config."""
    directory.mkdir(parents=True, exist_ok=True)
    for device in devices:
        if device.ssh is not None:
            (directory / f"{device.key}.cfg").write_text(device.ssh.running_config, encoding="utf-8")
