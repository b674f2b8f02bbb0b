"""Fixed vocabularies of the inventory, with Vietnamese and English labels."""

from __future__ import annotations

from enum import StrEnum

# The province's clock: the dates people read, the days reports and trends count, the hour the
# scheduler's daily jobs run. Stored times are UTC; this is the one place that names the zone.
LOCAL_TIMEZONE = "Asia/Ho_Chi_Minh"


class SiteKind(StrEnum):
    PROVINCIAL_AGENCY = "provincial_agency"
    COMMUNE = "commune"
    WARD = "ward"


class ZoneKind(StrEnum):
    PARTY_WAN = "party_wan"
    INTERNET = "internet"


class DeviceClass(StrEnum):
    FIREWALL = "firewall"
    ACCESS_SWITCH = "access_switch"
    BML = "bml"
    ROUTER = "router"
    SERVER = "server"
    DESKTOP = "desktop"
    LAPTOP = "laptop"
    TABLET = "tablet"
    PRINTER = "printer"
    SCANNER = "scanner"
    OTHER = "other"


NETWORK_CLASSES = frozenset({DeviceClass.FIREWALL, DeviceClass.ACCESS_SWITCH, DeviceClass.BML, DeviceClass.ROUTER})
ENDPOINT_CLASSES = frozenset({DeviceClass.DESKTOP, DeviceClass.LAPTOP, DeviceClass.TABLET, DeviceClass.PRINTER, DeviceClass.SCANNER})


class DeviceStatus(StrEnum):
    IN_USE = "in_use"
    IN_STOCK = "in_stock"
    BROKEN = "broken"
    DISPOSED = "disposed"


class DeviceSource(StrEnum):
    RECORDED = "recorded"
    IMPORTED = "imported"
    DISCOVERED = "discovered"


class Role(StrEnum):
    ADMIN = "admin"
    SECURITY_OFFICER = "security_officer"
    TECHNICIAN = "technician"
    PLANNER = "planner"
    VIEWER = "viewer"


class DossierStatus(StrEnum):
    NONE = "none"
    DRAFTING = "drafting"
    SUBMITTED = "submitted"
    APPROVED = "approved"


class CredentialKind(StrEnum):
    SNMP_V2C = "snmp_v2c"
    SNMP_V3 = "snmp_v3"
    SSH = "ssh"


class FindingStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    WAIVED = "waived"


class Severity(StrEnum):
    """Most severe first: lists and reports sort in this order."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class EventKind(StrEnum):
    """What the events feed and the notifications tell (issue 12)."""

    NEW_CRITICAL_FINDING = "new_critical_finding"
    UNRECORDED_DEVICE = "unrecorded_device"
    DEVICE_SILENT = "device_silent"
    WAIVER_EXPIRING = "waiver_expiring"
    RUN_FAILED = "run_failed"  # a scan or an evaluation
    COLLECTOR_SILENT = "collector_silent"  # a collector has not been heard from (issue 17)
    COLLECTOR_REFUSED = "collector_refused"  # a collector's file or batch was refused: a security event


class ChannelKind(StrEnum):
    SMTP = "smtp"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry


class Platform(StrEnum):
    """Network operating systems whose running-configs kiemke reads (netmiko device types)."""

    CISCO_IOS = "cisco_ios"
    FORTINET = "fortinet"
    HUAWEI_VRP = "huawei_vrp"
    JUNIPER_JUNOS = "juniper_junos"
    ARUBA_OSSWITCH = "aruba_osswitch"
    PALOALTO_PANOS = "paloalto_panos"


# The platforms kiemke collects running-configs from over SSH (collectors/ssh.py): all of them.
SSH_COLLECTED_PLATFORMS: tuple[str, ...] = tuple(p.value for p in Platform)


# The device class a running-config is checked as when none is given.
CLASS_BY_PLATFORM: dict[str, str] = {
    Platform.CISCO_IOS.value: DeviceClass.ACCESS_SWITCH.value, Platform.FORTINET.value: DeviceClass.FIREWALL.value,
    Platform.HUAWEI_VRP.value: DeviceClass.ACCESS_SWITCH.value, Platform.JUNIPER_JUNOS.value: DeviceClass.ACCESS_SWITCH.value,
    Platform.ARUBA_OSSWITCH.value: DeviceClass.ACCESS_SWITCH.value, Platform.PALOALTO_PANOS.value: DeviceClass.FIREWALL.value,
}  # fmt: skip


LABELS_VI: dict[str, str] = {
    "provincial_agency": "Cơ quan cấp tỉnh",
    "commune": "Xã",
    "ward": "Phường",
    "party_wan": "Mạng diện rộng của Đảng",
    "internet": "Mạng Internet",
    "firewall": "Tường lửa",
    "access_switch": "Thiết bị chuyển mạch nhánh",
    "bml": "Thiết bị bảo mật kênh truyền (BML)",
    "router": "Bộ định tuyến",
    "server": "Máy chủ",
    "desktop": "Máy tính để bàn",
    "laptop": "Máy tính xách tay",
    "tablet": "Máy tính bảng",
    "printer": "Máy in",
    "scanner": "Máy quét",
    "other": "Khác",
    "in_use": "Đang sử dụng",
    "in_stock": "Trong kho",
    "broken": "Hư hỏng",
    "disposed": "Đã thanh lý",
    "recorded": "Ghi nhận",
    "imported": "Nhập từ tệp",
    "discovered": "Phát hiện",
}

SEVERITY_LABELS_VI: dict[str, str] = {
    "critical": "Nghiêm trọng",
    "high": "Cao",
    "medium": "Trung bình",
    "low": "Thấp",
}


def values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]
