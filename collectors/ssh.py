"""SSH collector: identity and running-config of the six platforms kiemke checks.

netmiko is blocking, so each visit runs in a worker thread (``asyncio.to_thread``). Every
library timeout is bounded by the visit's ``timeout``: the TCP connect, SSH banner and
authentication phases are capped, and ``read_timeout_override`` is set before every command to
the time left, so a device that logs in and then hangs (e.g. on ``show running-config``) ends
the visit with ``CollectionTimeout`` shortly after ``timeout`` seconds. After a failure the
transport is dropped (``paramiko_cleanup``) instead of ``disconnect()``, which would wait for a
prompt a hung shell never prints.

Commands per platform (``Target.platform`` is netmiko's ``device_type``; the parsing is in
``ssh_facts.py``):

    cisco_ios       show version, show inventory, enable, show running-config
    fortinet        get system status, show full-configuration
    huawei_vrp      display version, display esn, display current-configuration
    juniper_junos   show version, show chassis hardware, show configuration
    aruba_osswitch  show system, show running-config
    paloalto_panos  show system info, set cli config-output-format set, configure, show, exit
                    (set format, what the PAN-OS parser reads; ``show`` in configure mode
                    prints the candidate configuration, which equals the running one unless
                    someone has uncommitted changes at that moment)

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
from collectors.ssh_facts import (
    clean_aruba_config,
    clean_cisco_config,
    clean_fortios_config,
    clean_huawei_config,
    clean_junos_config,
    clean_panos_config,
    parse_aruba,
    parse_cisco,
    parse_fortios_status,
    parse_huawei,
    parse_junos,
    parse_panos,
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
# Platforms whose netmiko logout waits ~2 s (a configure-mode probe, or "Do you want to log out"):
# the collector (never in configure mode by then) says the word and drops the transport instead.
LOGOUT_BY_WORD = {"paloalto_panos": "exit", "huawei_vrp": "quit", "aruba_osswitch": "logout"}


class UnsupportedPlatform(CollectorError):
    """The target has no (or an unknown) SSH platform: a configuration problem, not the device's."""

    kind = "config"


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
                facts = getattr(self, f"_{target.platform}")(conn, target, deadline)
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
    def _send(conn: Any, command: str, deadline: float, expect: str | None = None) -> str:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(command)  # translated like a read timeout
        conn.read_timeout_override = max(MIN_READ, left)
        extra = {"expect_string": expect} if expect else {}
        out = conn.send_command(command, read_timeout=max(MIN_READ, left), **extra)
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
        facts = parse_fortios_status(self._send(conn, "get system status", deadline))
        running_config = clean_fortios_config(self._send(conn, "show full-configuration", deadline))
        return _facts(target, "Fortinet", facts, running_config, "get system status: no 'Version: <model> v<x.y.z>' line")

    def _huawei_vrp(self, conn: Any, target: Target, deadline: float) -> DeviceFacts:
        version_text = self._send(conn, "display version", deadline)
        esn_text = self._send(conn, "display esn", deadline)
        running_config = clean_huawei_config(self._send(conn, "display current-configuration", deadline))
        facts = parse_huawei(version_text, esn_text, running_config)
        facts["sys_name"] = facts["sys_name"] or getattr(conn, "base_prompt", "") or None
        return _facts(target, "Huawei", facts, running_config, "display version: no 'VRP (R) software, Version … (<model> <version>)' line")

    def _juniper_junos(self, conn: Any, target: Target, deadline: float) -> DeviceFacts:
        facts = parse_junos(self._send(conn, "show version", deadline), self._send(conn, "show chassis hardware", deadline))
        running_config = clean_junos_config(self._send(conn, "show configuration", deadline))
        return _facts(target, "Juniper", facts, running_config, "show version: no 'Model:' and 'Junos:' lines")

    def _aruba_osswitch(self, conn: Any, target: Target, deadline: float) -> DeviceFacts:
        facts = parse_aruba(self._send(conn, "show system", deadline))
        running_config = clean_aruba_config(self._send(conn, "show running-config", deadline))
        facts["sys_name"] = facts["sys_name"] or getattr(conn, "base_prompt", "") or None
        return _facts(target, "Aruba", facts, running_config, "show system: no 'Software revision' line")

    def _paloalto_panos(self, conn: Any, target: Target, deadline: float) -> DeviceFacts:
        facts = parse_panos(self._send(conn, "show system info", deadline))
        self._send(conn, "set cli config-output-format set", deadline)
        # Into configure mode and out by prompt: netmiko's config_mode()/exit_config_mode() probe
        # the mode before and after, each probe a fixed 2 s wait.
        prompt = re.escape(getattr(conn, "base_prompt", "") or "")
        self._send(conn, "configure", deadline, expect=prompt + r"#\s*$")
        running_config = clean_panos_config(self._send(conn, "show", deadline, expect=prompt + r"#\s*$"))
        self._send(conn, "exit", deadline, expect=prompt + r">\s*$")
        return _facts(target, "Palo Alto Networks", facts, running_config, "show system info: no 'model:' and 'sw-version:' lines")

    @staticmethod
    def _close(conn: Any, deadline: float) -> None:
        """Log out politely when there is time, else just drop the transport."""
        left = deadline - time.monotonic()
        if left < 1 or conn.device_type in LOGOUT_BY_WORD:
            if left >= 1:
                conn.write_channel(LOGOUT_BY_WORD[conn.device_type] + conn.RETURN)
            _drop(conn)
            return
        conn.read_timeout_override = min(left, 2.0)
        try:
            conn.disconnect()
        except Exception:  # noqa: BLE001 - the facts are already in hand
            _drop(conn)


def _facts(target: Target, vendor: str, facts: dict[str, Any], running_config: str | None, unparsed: str) -> DeviceFacts:
    warnings = () if facts.pop("parsed") else (unparsed,)
    return DeviceFacts(address=target.address, source="ssh", vendor=vendor, running_config=running_config, warnings=warnings, **facts)


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
