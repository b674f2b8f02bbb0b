"""What SSH collection reads from a device's own CLI: pure functions from command outputs to facts.

No I/O. Show outputs are parsed with ntc-templates where a template exists (with a regex fallback
for the one line that matters), and configurations are cleaned of the lines that change without
the configuration changing (preambles, "last commit/update" comments), so two collections of an
unchanged device give the same text and no false change in history.

    cisco_ios       show version + show inventory; show running-config
    fortinet        get system status; show full-configuration
    huawei_vrp      display version + display esn; display current-configuration
    juniper_junos   show version + show chassis hardware; show configuration
    aruba_osswitch  show system; show running-config
    paloalto_panos  show system info; show (configure mode, set format)
"""

from __future__ import annotations

import re
from typing import Any

_CISCO_PREAMBLE = (
    re.compile(r"^Building configuration\.\.\.\s*$"),
    re.compile(r"^Current configuration\s*:\s*\d+\s*bytes\s*$"),
    # Volatile comment lines of real IOS: they change without the configuration changing.
    re.compile(r"^!\s*(Last configuration change|NVRAM config last updated|No configuration change since)"),
    re.compile(r"^ntp clock-period\s+\d+\s*$"),
)


def clean_cisco_config(text: str) -> str:
    """``show running-config`` output without its preamble and volatile lines.

    >>> clean_cisco_config("Building configuration...\\n\\nCurrent configuration : 12 bytes\\n!\\nend\\n")
    '!\\nend\\n'
    """
    lines = _normalise(text).split("\n")
    out = [ln for ln in lines if not any(rx.match(ln) for rx in _CISCO_PREAMBLE)]
    while out and not out[0].strip():
        out.pop(0)
    return _finish(out)


def clean_fortios_config(text: str) -> str:
    """``show full-configuration`` output with stable line endings.

    ``#conf_file_ver=`` changes on every save (even without a change), so it is dropped.
    """
    lines = [ln for ln in _normalise(text).split("\n") if not ln.startswith("#conf_file_ver=")]
    while lines and not lines[0].strip():
        lines.pop(0)
    return _finish(lines)


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _finish(lines: list[str]) -> str:
    body = "\n".join(ln.rstrip() for ln in lines).rstrip("\n")
    return body + "\n" if body else ""


_UPTIME_UNITS = {"year": 365 * 86400, "week": 7 * 86400, "day": 86400, "hour": 3600, "minute": 60, "second": 1}


def uptime_seconds(text: str) -> int | None:
    """'12 weeks, 3 days, 4 hours, 5 minutes' -> seconds.

    >>> uptime_seconds("1 day, 2 hours, 3 minutes")
    93780
    """
    total, seen = 0, False
    for count, unit in re.findall(r"(\d+)\s+(year|week|day|hour|minute|second)s?", text or ""):
        total += int(count) * _UPTIME_UNITS[unit]
        seen = True
    return total if seen else None


def _parse(platform: str, command: str, text: str) -> list[dict[str, Any]]:
    from ntc_templates.parse import parse_output

    try:
        rows = parse_output(platform=platform, command=command, data=text)
    except Exception:  # noqa: BLE001 - no template, or text the template rejects
        return []
    return rows if isinstance(rows, list) else []


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value).strip() or None if value else None


def _is_ios_xe(version_text: str, version: str | None) -> bool:
    if re.search(r"IOS[ -]?XE|IOSXE|IOS-XE", version_text, re.I):
        return True
    major = re.match(r"(\d+)\.", version or "")
    return bool(major and int(major.group(1)) >= 16)


def parse_cisco(version_text: str, inventory_text: str) -> dict[str, Any]:
    """Facts from ``show version`` + ``show inventory`` (ntc-templates)."""
    ver = _parse("cisco_ios", "show version", version_text)
    inv = _parse("cisco_ios", "show inventory", inventory_text)
    v = ver[0] if ver else {}
    chassis = inv[0] if inv else {}
    version = _first(v.get("version"))
    first_line = next((ln.strip() for ln in _normalise(version_text).split("\n") if ln.strip()), None)
    return {
        "sys_name": _first(v.get("hostname")),
        "os_version": version,
        "os_name": "IOS-XE" if _is_ios_xe(version_text, version) else "IOS",
        "model": _first(chassis.get("pid")) or _first(v.get("hardware")),
        "serial": _first(chassis.get("sn")) or _first(v.get("serial")),
        "uptime_seconds": uptime_seconds(v.get("uptime") or ""),
        "sys_descr": first_line,
        "parsed": bool(ver),
    }


_FORTI_VERSION = re.compile(r"^(?P<model>\S+)\s+v(?P<version>\d+(?:\.\d+)*)(?:,build(?P<build>\d+))?")


def parse_fortios_status(text: str) -> dict[str, Any]:
    """Facts from ``get system status``.

    >>> f = parse_fortios_status("Version: FortiGate-60F v7.2.8,build1639,240313 (GA.M)\\nSerial-Number: FGT60F1\\nHostname: FW-1\\n")
    >>> (f["model"], f["os_version"], f["serial"], f["sys_name"])
    ('FortiGate-60F', '7.2.8', 'FGT60F1', 'FW-1')
    """
    rows = _parse("fortinet", "get system status", text)
    row = rows[0] if rows else {}

    def value_of(key: str, label: str) -> str | None:
        value = row.get(key)
        if not value:
            m = re.search(rf"^{re.escape(label)}:\s*(.+?)\s*$", _normalise(text), re.M)
            value = m.group(1) if m else None
        return value.strip() if value else None

    version_line = value_of("version", "Version") or ""
    m = _FORTI_VERSION.match(version_line)
    return {
        "sys_name": value_of("hostname", "Hostname"),
        "serial": value_of("serial_number", "Serial-Number"),
        "model": m.group("model") if m else None,
        "os_version": m.group("version") if m else None,
        "os_name": "FortiOS",
        "sys_descr": f"FortiOS {version_line}" if version_line else None,
        "parsed": bool(m),
    }


# ------------------------------------------------------------------------- Huawei VRP

_VRP_VOLATILE = (re.compile(r"^!(Last configuration was (updated|saved)|Time of|Config was (updated|saved))", re.I),)


def clean_huawei_config(text: str) -> str:
    """``display current-configuration`` without the comment lines that record when it changed."""
    lines = [ln for ln in _normalise(text).split("\n") if not any(rx.match(ln) for rx in _VRP_VOLATILE)]
    return _finish(_lstrip_blank(lines))


_VRP_PRODUCT = re.compile(r"^VRP \(R\) software, Version \S+ \((?P<model>\S+) (?P<version>[^)\s]+)\)", re.M)
_VRP_ESN = re.compile(r"^ESN of (?:slot \d+|master|device)\s*:\s*(\S+)", re.M | re.I)
_VRP_SYSNAME = re.compile(r"^\s*sysname (\S+)", re.M)


def parse_huawei(version_text: str, esn_text: str, config_text: str) -> dict[str, Any]:
    """Facts from ``display version``, ``display esn`` and the configuration's ``sysname``.

    >>> f = parse_huawei("VRP (R) software, Version 5.170 (S5735-L24T4S-A V200R021)\\n", "ESN of slot 0: 2102351931P0X1\\n", "sysname SW-1\\n")
    >>> (f["model"], f["os_version"], f["serial"], f["sys_name"])
    ('S5735-L24T4S-A', 'V200R021', '2102351931P0X1', 'SW-1')
    """
    text = _normalise(version_text)
    rows = _parse("huawei_vrp", "display version", text)
    row = rows[0] if rows else {}
    product = _VRP_PRODUCT.search(text)
    esn = _VRP_ESN.search(_normalise(esn_text))
    name = _VRP_SYSNAME.search(_normalise(config_text))
    first_line = next((ln.strip() for ln in text.split("\n") if ln.strip().startswith("VRP")), None)
    return {
        "sys_name": name.group(1) if name else None,
        "model": (product.group("model") if product else None) or _first(row.get("model")),
        "os_version": product.group("version") if product else None,
        "os_name": "VRP",
        "serial": esn.group(1) if esn else None,
        "sys_descr": first_line,
        "parsed": bool(product),
    }


# ------------------------------------------------------------------------- Junos

_JUNOS_VOLATILE = (re.compile(r"^## Last (commit|changed):"),)


def clean_junos_config(text: str) -> str:
    """``show configuration`` without its "## Last commit: <time> by <user>" line."""
    lines = [ln for ln in _normalise(text).split("\n") if not any(rx.match(ln) for rx in _JUNOS_VOLATILE)]
    return _finish(_lstrip_blank(lines))


_JUNOS_CHASSIS = re.compile(r"^Chassis\s+(\S+)\s+(\S+)", re.M)


def parse_junos(version_text: str, hardware_text: str) -> dict[str, Any]:
    """Facts from ``show version`` and ``show chassis hardware``.

    >>> f = parse_junos("Hostname: SW-2\\nModel: ex2300-24t\\nJunos: 21.4R3\\n", "Chassis                                JW3619AN0123      EX2300-24T\\n")
    >>> (f["sys_name"], f["model"], f["os_version"], f["serial"])
    ('SW-2', 'EX2300-24T', '21.4R3', 'JW3619AN0123')
    """
    text = _normalise(version_text)
    rows = _parse("juniper_junos", "show version", text)
    row = rows[0] if rows else {}

    def line(label: str) -> str | None:
        m = re.search(rf"^{label}:\s*(\S+)", text, re.M)
        return m.group(1) if m else None

    model = _first(row.get("model")) or line("Model")
    version = _first(row.get("junos_version")) or line("Junos")
    chassis = _JUNOS_CHASSIS.search(_normalise(hardware_text))
    return {
        "sys_name": _first(row.get("hostname")) or line("Hostname"),
        "model": model.upper() if model else None,  # "ex2300-24t" in the CLI, EX2300-24T on the box
        "os_version": version,
        "os_name": "Junos",
        "serial": chassis.group(1) if chassis else None,
        "sys_descr": f"Juniper {model} Junos {version}" if model and version else None,
        "parsed": bool(model and version),
    }


# ------------------------------------------------------------------------- ArubaOS-Switch


def clean_aruba_config(text: str) -> str:
    """``show running-config`` as printed (its header names the product and release, both stable)."""
    return _finish(_lstrip_blank(_normalise(text).split("\n")))


def parse_aruba(system_text: str) -> dict[str, Any]:
    """Facts from ``show system`` (ntc-templates ``hp_procurve``). The model is not in it: the
    recorded or SNMP-collected model stays.

    >>> f = parse_aruba("  System Name        : SW-3\\n  Software revision  : YA.16.11.0016\\n  Serial Number      : CN12AB3456\\n")
    >>> (f["sys_name"], f["os_version"], f["serial"])
    ('SW-3', 'YA.16.11.0016', 'CN12AB3456')
    """
    text = _normalise(system_text)
    rows = _parse("hp_procurve", "show system", text)
    row = rows[0] if rows else {}

    def value_of(key: str, label: str) -> str | None:
        value = _first(row.get(key))
        if not value:
            m = re.search(rf"^\s*{label}\s*:\s*(\S+)", text, re.M)
            value = m.group(1) if m else None
        return value

    version = value_of("software_version", "Software revision")
    return {
        "sys_name": value_of("name", "System Name"),
        "os_version": version,
        "os_name": "ArubaOS-Switch",
        "serial": value_of("serial", "Serial Number"),
        "sys_descr": f"ArubaOS-Switch {version}" if version else None,
        "parsed": bool(version),
    }


# ------------------------------------------------------------------------- PAN-OS


def clean_panos_config(text: str) -> str:
    """``show`` in configure mode (set format) without the ``[edit]`` context lines."""
    lines = [ln for ln in _normalise(text).split("\n") if not re.fullmatch(r"\s*\[edit.*\]\s*", ln)]
    return _finish(_lstrip_blank(lines))


def parse_panos(info_text: str) -> dict[str, Any]:
    """Facts from ``show system info``.

    >>> f = parse_panos("hostname: FW-4\\nmodel: PA-440\\nserial: 0123456789\\nsw-version: 11.1.2\\noperational-mode: normal\\n")
    >>> (f["sys_name"], f["model"], f["serial"], f["os_version"])
    ('FW-4', 'PA-440', '0123456789', '11.1.2')
    """
    text = _normalise(info_text)

    def value_of(label: str) -> str | None:
        m = re.search(rf"^\s*{label}:\s*(\S+)", text, re.M)
        return m.group(1) if m else None

    version = value_of("sw-version")
    model = value_of("model")
    return {
        "sys_name": value_of("hostname"),
        "model": model,
        "os_version": version,
        "os_name": "PAN-OS",
        "serial": value_of("serial"),
        "sys_descr": f"Palo Alto Networks {model} PAN-OS {version}" if model and version else None,
        "parsed": bool(model and version),
    }


def _lstrip_blank(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines
