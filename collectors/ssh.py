"""SSH collector: identity and running-config of Cisco IOS / IOS-XE and FortiOS devices.

netmiko is blocking, so each visit runs in a worker thread (``asyncio.to_thread``). Every
library timeout is bounded by the visit's ``timeout``: the TCP connect, SSH banner and
authentication phases are capped, and ``read_timeout_override`` is set before every command to
the time left, so a device that logs in and then hangs (e.g. on ``show running-config``) ends
the visit with ``CollectionTimeout`` shortly after ``timeout`` seconds. After a failure the
transport is dropped (``paramiko_cleanup``) instead of ``disconnect()``, which would wait for a
prompt a hung shell never prints.

Commands per platform (``Target.platform`` is netmiko's ``device_type``):

    cisco_ios  show version, show inventory (parsed with ntc-templates), enable,
               show running-config
    fortinet   get system status (ntc-templates ``fortinet_get_system_status``, regex fallback),
               show full-configuration

Library exceptions are translated once, in ``_translate``; messages name the user, host and
port, never the password or enable secret.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collectors.records import (
    AuthenticationFailed,
    CollectionTimeout,
    CollectorError,
    DeviceFacts,
    ProtocolError,
    SshCredential,
    Target,
    Unreachable,
)
from inventory.choices import SSH_COLLECTED_PLATFORMS

log = logging.getLogger(__name__)

PLATFORMS = SSH_COLLECTED_PLATFORMS

# paramiko's server side (and some FortiOS builds) offer no group-exchange moduli.
FORTINET_DISABLED_ALGORITHMS = {"kex": ["diffie-hellman-group-exchange-sha1", "diffie-hellman-group-exchange-sha256"]}

# Per-phase caps; each is also capped by the visit's timeout.
CONNECT_TIMEOUT = 10.0
BANNER_TIMEOUT = 10.0
AUTH_TIMEOUT = 10.0
# Past `timeout`, how long the event loop waits for the worker thread before giving up on it.
GRACE = 5.0
MIN_READ = 0.5


class UnsupportedPlatform(CollectorError):
    """The target has no (or an unknown) SSH platform: a configuration problem, not the device's."""

    kind = "config"


# ------------------------------------------------------------------------- pure parsing


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


# ------------------------------------------------------------------------- the collector


@dataclass
class _Visit:
    """One session's state, shared with the event loop so a late visit can be cut off."""

    conn: Any = None
    abandoned: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def drop(self) -> None:
        with self.lock:
            self.abandoned = True
            conn, self.conn = self.conn, None
        if conn is not None:
            _drop(conn)


def _drop(conn: Any) -> None:
    try:
        conn.paramiko_cleanup()
    except Exception:  # noqa: BLE001, S110
        pass
    conn.remote_conn = None


class SshCollector:
    """Collect identity and running-config over SSH (netmiko in a worker thread)."""

    name = "ssh"

    def __init__(self, connect: Callable[..., Any] | None = None) -> None:
        # `connect` is netmiko.ConnectHandler unless a test substitutes it.
        self._connect = connect

    async def collect(self, target: Target, credential: SshCredential, timeout: float) -> DeviceFacts:  # type: ignore[override]
        platform = target.platform
        if platform not in PLATFORMS:
            raise UnsupportedPlatform(f"SSH platform {platform!r} of {target.address} is not supported (use {', '.join(PLATFORMS)})")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        visit = _Visit()
        work = asyncio.to_thread(self._collect_blocking, target, credential, timeout, visit)
        try:
            return await asyncio.wait_for(work, timeout + GRACE)
        except TimeoutError:
            visit.drop()  # the thread's next read fails and it ends
            raise CollectionTimeout(f"SSH collection from {_where(target, credential)} did not finish within {timeout:g} s") from None

    # -- blocking part, in a worker thread -----------------------------------------------

    def _collect_blocking(self, target: Target, credential: SshCredential, timeout: float, visit: _Visit) -> DeviceFacts:
        started = time.monotonic()
        deadline = started + timeout
        phase = "connect"
        conn = None
        try:
            conn = self._open(target, credential, timeout)
            with visit.lock:
                if visit.abandoned:  # the event loop gave up while we were connecting
                    raise CollectionTimeout("abandoned")
                visit.conn = conn
            phase = "collect"
            if target.platform == "cisco_ios":
                facts = self._cisco(conn, target, credential, deadline)
            else:
                facts = self._fortinet(conn, target, deadline)
            phase = "disconnect"
            self._close(conn, deadline)
            conn = None
            log.debug("ssh %s collected in %.2f s", _where(target, credential), time.monotonic() - started)
            return facts
        except CollectorError:
            raise
        except Exception as exc:  # noqa: BLE001 - the boundary: every library error is translated here
            raise _translate(exc, target, credential, phase, timeout) from None
        finally:
            if conn is not None:
                _drop(conn)
            visit.conn = None

    def _open(self, target: Target, credential: SshCredential, timeout: float) -> Any:
        connect = self._connect
        if connect is None:
            from netmiko import ConnectHandler

            connect = ConnectHandler
        params = connect_params(target, credential, timeout)
        return connect(**params)

    @staticmethod
    def _send(conn: Any, command: str, deadline: float) -> str:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(command)  # translated like a read timeout
        conn.read_timeout_override = max(MIN_READ, left)
        out = conn.send_command(command, read_timeout=max(MIN_READ, left))
        return out if isinstance(out, str) else str(out)

    def _cisco(self, conn: Any, target: Target, credential: SshCredential, deadline: float) -> DeviceFacts:
        warnings: list[str] = []
        version_text = self._send(conn, "show version", deadline)
        inventory_text = self._send(conn, "show inventory", deadline)
        facts = parse_cisco(version_text, inventory_text)
        if not facts.pop("parsed"):
            warnings.append("show version: output not recognised by ntc-templates")
        if not facts["sys_name"]:
            facts["sys_name"] = getattr(conn, "base_prompt", "") or None
        running_config = None
        if not conn.check_enable_mode():
            if credential.secret is None:
                warnings.append("no enable secret: running-config not collected")
            else:
                conn.read_timeout_override = max(MIN_READ, deadline - time.monotonic())
                try:
                    conn.enable()
                except ValueError:  # netmiko: "Failed to enter enable mode"
                    warnings.append("enable secret refused: running-config not collected")
        if conn.check_enable_mode():
            running_config = clean_cisco_config(self._send(conn, "show running-config", deadline))
        return DeviceFacts(
            address=target.address,
            source="ssh",
            vendor="Cisco",
            running_config=running_config,
            warnings=tuple(warnings),
            **facts,
        )

    def _fortinet(self, conn: Any, target: Target, deadline: float) -> DeviceFacts:
        warnings: list[str] = []
        facts = parse_fortios_status(self._send(conn, "get system status", deadline))
        if not facts.pop("parsed"):
            warnings.append("get system status: no 'Version: <model> v<x.y.z>' line")
        running_config = clean_fortios_config(self._send(conn, "show full-configuration", deadline))
        return DeviceFacts(
            address=target.address,
            source="ssh",
            vendor="Fortinet",
            running_config=running_config,
            warnings=tuple(warnings),
            **facts,
        )

    @staticmethod
    def _close(conn: Any, deadline: float) -> None:
        """Log out politely when there is time, else just drop the transport."""
        left = deadline - time.monotonic()
        if left < 1:
            _drop(conn)
            return
        conn.read_timeout_override = min(left, 2.0)
        try:
            conn.disconnect()
        except Exception:  # noqa: BLE001 - the facts are already in hand
            _drop(conn)


def connect_params(target: Target, credential: SshCredential, timeout: float) -> dict[str, Any]:
    """netmiko ``ConnectHandler`` keyword arguments for one visit (contains the secrets)."""
    params: dict[str, Any] = {
        "device_type": target.platform,
        "host": target.address,
        "port": credential.port,
        "username": credential.username,
        "password": credential.password.get_secret_value(),
        "conn_timeout": min(CONNECT_TIMEOUT, timeout),
        "banner_timeout": min(BANNER_TIMEOUT, timeout),
        "auth_timeout": min(AUTH_TIMEOUT, timeout),
        "blocking_timeout": min(20.0, timeout),
        "session_timeout": timeout,
        "read_timeout_override": timeout,  # bounds session preparation; narrowed per command
        "fast_cli": True,
        "use_keys": False,
        "allow_agent": False,
        "ssh_config_file": None,
        "session_log": None,
    }
    if credential.secret is not None:
        params["secret"] = credential.secret.get_secret_value()
    if target.platform == "fortinet":
        params["disabled_algorithms"] = FORTINET_DISABLED_ALGORITHMS
    return params


def _where(target: Target, credential: SshCredential) -> str:
    return f"{target.address}:{credential.port}"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return seen


_UNREACHABLE_ERRNOS = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.EADDRNOTAVAIL}


def _translate(exc: Exception, target: Target, credential: SshCredential, phase: str, timeout: float) -> CollectorError:
    """netmiko / paramiko / socket exception -> kiemke error. Never quotes the library message
    when it might echo input; never the password or secret."""
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout
    from paramiko.ssh_exception import AuthenticationException, NoValidConnectionsError

    where = _where(target, credential)
    user = credential.username
    chain = _chain(exc)
    if any(isinstance(e, (NetmikoAuthenticationException, AuthenticationException)) for e in chain):
        return AuthenticationFailed(f"SSH login refused for user {user!r} on {where}")
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return Unreachable(f"SSH connection refused by {where}")
        if isinstance(e, NoValidConnectionsError):
            codes = {getattr(err, "errno", None) for err in e.errors.values()}
            if codes == {errno.ECONNREFUSED}:
                return Unreachable(f"SSH connection refused by {where}")
            if codes & _UNREACHABLE_ERRNOS:
                return Unreachable(f"SSH port unreachable on {where}")
        if isinstance(e, OSError) and not isinstance(e, socket.timeout) and e.errno in _UNREACHABLE_ERRNOS:
            return Unreachable(f"SSH port unreachable on {where} ({errno.errorcode.get(e.errno, e.errno)})")
    if any(isinstance(e, (ReadTimeout, NetmikoTimeoutException, socket.timeout, TimeoutError)) for e in chain):
        what = "connecting to" if phase == "connect" else "waiting for output from"
        return CollectionTimeout(f"SSH timed out {what} {where} (budget {timeout:g} s)")
    name = type(exc).__name__
    detail = _scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "", credential)
    log.debug("ssh %s: %s during %s", where, name, phase)
    return ProtocolError(f"SSH {phase} with {where} failed: {name}" + (f": {detail[:200]}" if detail else ""))


def _scrub(text: str, credential: SshCredential) -> str:
    for secret in (credential.password, credential.secret):
        value = secret.get_secret_value() if secret is not None else ""
        if value:
            text = text.replace(value, "***")
    return text
