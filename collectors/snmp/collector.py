"""SnmpCollector: one visit to one device over SNMPv2c or SNMPv3 (see the package docstring).

    facts = await SnmpCollector().collect(target, credential, timeout=10)

The visit (`_Visit`) asks one GET that proves the device answers, then reads every table
concurrently with multi-column GETBULK walks; `collectors.snmp.facts` turns what it read into
`DeviceFacts`. Library surprises and secrets never leave `collect` (see `_redact`).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from collectors.records import (
    AuthenticationFailed,
    CollectionTimeout,
    CollectorError,
    DeviceFacts,
    ProtocolError,
    SnmpCredential,
    Target,
    Unreachable,
)
from collectors.snmp.ber import END_OF_MIB_VIEW, BerError, Var, _subids, decode_oid
from collectors.snmp.facts import (
    ARP_PHYS,
    BASE_PORT_IFINDEX,
    DOT1D_BASE_NUM_PORTS,
    ENT_CHASSIS,
    ENT_CLASS,
    ENT_COLUMNS,
    FDB_PORT,
    HR_DEVICE_TYPE,
    HR_MEMORY_SIZE,
    HR_STORAGE_COLUMNS,
    HR_SW_COLUMNS,
    IF_COLUMNS,
    IF_NUMBER,
    LLDP_LOC_PORT_ID,
    LLDP_REM_COLUMNS,
    PROBE_OIDS,
    QFDB_PORT,
    TEXT_OIDS,
    Row,
    as_int,
    build_facts,
    entity_row,
    present,
)
from collectors.snmp.transport import (
    MAX_BYTES,
    _AuthError,
    _Failed,
    _NativeV3Session,
    _NoAnswer,
    _OverBudget,
    _PortUnreachable,
    _PysnmpV3Session,
    _Session,
    _Timing,
    _TooBig,
    _V2cSession,
)
from collectors.snmp.usm import AUTH, PRIV_KEY_BYTES, _UsmUser, password_to_key
from collectors.vendors import VendorData, vendor_data

MAX_ROWS = 20_000  # rows per column of one walk
MAX_VARBINDS_PER_REQUEST = 512  # repetitions x columns of one GETBULK
MIN_ATTEMPT = 1.0  # seconds: shortest attempt timeout after the device has answered


class ConfigError(CollectorError):
    kind = "config"


# ============================================================================ the collector
class SnmpCollector:
    """Collect one device over SNMPv2c or SNMPv3 (see the package docstring)."""

    name = "snmp"

    def __init__(
        self,
        *,
        retries: int = 1,
        parallel_requests: int = 4,
        max_rows: int = MAX_ROWS,
        vendors: VendorData | None = None,
        v3_backend: Literal["native", "pysnmp"] = "native",
        engine_cache_size: int = 64,
    ) -> None:
        if v3_backend not in ("native", "pysnmp"):
            raise ValueError(f"v3_backend must be 'native' or 'pysnmp', not {v3_backend!r}")
        self.v3_backend = v3_backend
        self._users: dict[bytes, _UsmUser] = {}  # credential fingerprint -> hashed keys
        self.retries = retries
        self.parallel_requests = parallel_requests
        self.max_rows = max_rows
        self._vendors = vendors
        self.engine_cache_size = engine_cache_size
        # event loop -> {credential fingerprint: future of a pysnmp SnmpEngine}
        self._engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[bytes, asyncio.Future]] = weakref.WeakKeyDictionary()

    @property
    def vendors(self) -> VendorData:
        if self._vendors is None:
            self._vendors = vendor_data()
        return self._vendors

    # ------------------------------------------------------------------ public
    async def collect(self, target: Target, credential: SnmpCredential, timeout: float) -> DeviceFacts:  # type: ignore[override]
        if not isinstance(credential, SnmpCredential):
            raise ConfigError(f"the SNMP collector needs an SNMP credential, got {type(credential).__name__}")
        if timeout <= 0:
            raise ConfigError("timeout must be positive")
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + timeout - min(0.1, timeout * 0.02)  # leave time to build the facts
        where = f"{target.address}:{credential.port}"
        session = await self._open(target, credential)
        secrets = _secrets(credential)
        try:
            probe_timing = _Timing(deadline, timeout / (self.retries + 1) * 0.9, self.retries)
            try:
                t0 = loop.time()
                probe = await session.get(PROBE_OIDS, probe_timing)
                rtt = loop.time() - t0
            except _NoAnswer:
                hint = "wrong community, or device down" if credential.version == "v2c" else "device down, or SNMP blocked"
                raise CollectionTimeout(f"no SNMP answer from {where} within {timeout:g} s ({hint})") from None
            except _PortUnreachable:
                raise Unreachable(f"nothing listens for SNMP at {where} (port unreachable)") from None
            except _AuthError as exc:
                raise AuthenticationFailed(f"SNMPv3 authentication failed for user {credential.user!r} at {where} (wrong key or protocol: {exc})") from None
            except (_TooBig, _Failed, _OverBudget) as exc:
                raise ProtocolError(_redact(f"SNMP error from {where}: {type(exc).__name__.strip('_')} {exc}", secrets)) from None
            if len(probe) != len(PROBE_OIDS):
                raise ProtocolError(f"SNMP error from {where}: {len(probe)} values for {len(PROBE_OIDS)} asked")
            attempt = min(probe_timing.attempt, max(MIN_ATTEMPT, 10 * rtt))
            timing = _Timing(deadline, attempt, self.retries)
            return await _Visit(self, session, target, timing, probe).run()
        except CollectorError:
            raise
        except Exception as exc:  # noqa: BLE001 - a library surprise must not escape with secrets
            raise ProtocolError(_redact(f"SNMP collection from {where} failed: {type(exc).__name__}: {exc}", secrets)) from None
        finally:
            session.close()

    async def aclose(self) -> None:
        """Close the SNMPv3 engines cached for the running event loop."""
        loop = asyncio.get_running_loop()
        for entry in self._engines.pop(loop, {}).values():
            try:
                _close_engine(await entry)
            except Exception:  # noqa: BLE001, S112 - an engine that failed to build has nothing to close
                continue

    # ------------------------------------------------------------------ sessions
    async def _open(self, target: Target, credential: SnmpCredential) -> _Session:
        if credential.version == "v2c":
            if credential.community is None or not credential.community.get_secret_value():
                raise ConfigError(f"SNMP credential {credential.name!r} has no community")
            session = _V2cSession(target.address, credential.port, credential.community.get_secret_value().encode(), self.parallel_requests)
            await session.open()
            return session
        if credential.version == "v3":
            if self.v3_backend == "pysnmp":
                engine, auth = await self._v3_engine(credential)
                return _PysnmpV3Session(engine, auth, target.address, credential.port)
            v3 = _V3Params.of(credential)
            user = self._users.get(v3.fingerprint)
            if user is None:
                if len(self._users) >= 1024:
                    self._users.clear()
                hash_name, auth_len = AUTH[credential.auth_protocol]
                user = _UsmUser(
                    v3.user.encode(), hash_name, auth_len, PRIV_KEY_BYTES[credential.priv_protocol],
                    password_to_key(v3.auth_key.encode(), hash_name), password_to_key(v3.priv_key.encode(), hash_name),
                )  # fmt: skip
                self._users[v3.fingerprint] = user
            session = _NativeV3Session(target.address, credential.port, user, self.parallel_requests)
            await session.open()
            return session
        raise ConfigError(f"SNMP version {credential.version!r} is not supported (v2c or v3)")

    async def _v3_engine(self, credential: SnmpCredential) -> tuple[Any, Any]:
        from pysnmp.hlapi.v3arch.asyncio import (
            SnmpEngine,
            UsmUserData,
            usmAesBlumenthalCfb256Protocol,
            usmAesCfb128Protocol,
            usmHMAC192SHA256AuthProtocol,
            usmHMACSHAAuthProtocol,
        )

        v3 = _V3Params.of(credential)
        auth_proto = {"SHA": usmHMACSHAAuthProtocol, "SHA256": usmHMAC192SHA256AuthProtocol}[credential.auth_protocol]
        priv_proto = {"AES": usmAesCfb128Protocol, "AES256": usmAesBlumenthalCfb256Protocol}[credential.priv_protocol]
        user, auth_key, priv_key, fingerprint = v3.user, v3.auth_key, v3.priv_key, v3.fingerprint
        loop = asyncio.get_running_loop()
        engines = self._engines.setdefault(loop, {})
        entry = engines.pop(fingerprint, None)
        if entry is None:
            # ~75 ms of CPU: built in a worker thread so the event loop keeps its timers
            entry = asyncio.ensure_future(asyncio.to_thread(_make_engine, SnmpEngine))
            while len(engines) >= self.engine_cache_size:
                engines.pop(next(iter(engines))).add_done_callback(_close_engine_later)
        engines[fingerprint] = entry  # most recently used last
        engine = await asyncio.shield(entry)
        auth = UsmUserData(user, auth_key, priv_key, authProtocol=auth_proto, privProtocol=priv_proto)
        return engine, auth


@dataclass(frozen=True)
class _V3Params:
    user: str
    auth_key: str
    priv_key: str
    fingerprint: bytes  # identifies the credential's secrets without holding them in a key

    @classmethod
    def of(cls, credential: SnmpCredential) -> _V3Params:
        user = credential.user or ""
        auth_key = credential.auth_key.get_secret_value() if credential.auth_key else ""
        priv_key = credential.priv_key.get_secret_value() if credential.priv_key else ""
        if not user or len(auth_key) < 8 or len(priv_key) < 8:
            raise ConfigError(f"SNMP credential {credential.name!r}: SNMPv3 authPriv needs a user and auth/priv keys of at least 8 characters")
        if credential.auth_protocol not in AUTH or credential.priv_protocol not in PRIV_KEY_BYTES:
            raise ConfigError(f"SNMP credential {credential.name!r}: unsupported protocols {credential.auth_protocol}/{credential.priv_protocol} (SHA or SHA256, AES or AES256)")
        fingerprint = hashlib.sha256("\0".join((user, auth_key, priv_key, credential.auth_protocol, credential.priv_protocol)).encode()).digest()
        return cls(user, auth_key, priv_key, fingerprint)


_ENGINE_LOCK = threading.Lock()


def _make_engine(factory: Any) -> Any:
    with _ENGINE_LOCK:  # pysnmp's MIB loading is not known to be thread-safe
        return factory()


def _close_engine_later(entry: asyncio.Future) -> None:
    if not entry.cancelled() and entry.exception() is None:
        _close_engine(entry.result())


def _close_engine(engine: Any) -> None:
    try:
        engine.close_dispatcher()
    except Exception:  # noqa: BLE001, S110 - closing is best effort
        pass


def _secrets(credential: SnmpCredential) -> list[str]:
    return [s.get_secret_value() for s in (credential.community, credential.auth_key, credential.priv_key) if s]


def _redact(message: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


# ============================================================================ one visit
class _Visit:
    """Everything after the first answer: concurrent reads, each failing on its own."""

    def __init__(self, collector: SnmpCollector, session: _Session, target: Target, timing: _Timing, probe: list[Var]):
        self.c = collector
        self.session = session
        self.target = target
        self.timing = timing
        self.probe = dict(zip(PROBE_OIDS, probe, strict=True))
        self.warnings: list[str] = []

    # ------------------------------------------------------------------ primitives
    def _warn(self, what: str, exc: BaseException) -> None:
        reason = {
            _NoAnswer: "no answer in time (a value too large for one datagram, or the device is busy)",
            _TooBig: "answer too big",
            _OverBudget: f"stopped after {MAX_BYTES // 1024 // 1024} MB from this device",
            _AuthError: "authentication failed",
            _PortUnreachable: "port unreachable",
        }.get(type(exc)) or f"{type(exc).__name__.strip('_')}: {exc}"
        self.warnings.append(f"{what}: {reason}")

    async def get(self, oids: Sequence[bytes], what: str) -> dict[bytes, Var]:
        """GET with a fallback: when the whole answer does not come, ask each OID alone."""
        try:
            varbinds = await self.session.get(oids, self.timing)
        except (_NoAnswer, _TooBig) as exc:
            if len(oids) == 1:
                self._warn(f"{what} {decode_oid(oids[0])}", exc)
                return {}
            parts = await asyncio.gather(*(self.get([o], what) for o in oids))
            return {k: v for part in parts for k, v in part.items()}
        except (_Failed, _OverBudget, _AuthError, _PortUnreachable, BerError) as exc:
            self._warn(what, exc)
            return {}
        return {oid: var for oid, var in zip(oids, varbinds, strict=False) if var[0] == oid and present(var)}

    async def walk(self, columns: Sequence[bytes], repetitions: int, what: str) -> list[Row]:
        """Walk several columns at once with GETBULK; returns {index: var} per column.

        Stops a column at the end of its subtree, endOfMibView, non-increasing OIDs or
        `max_rows`; on an error the rows read so far are kept and a warning is added.
        """
        rows: list[Row] = [{} for _ in columns]
        last = list(columns)
        last_index: list[tuple[int, ...] | None] = [None] * len(columns)
        active = list(range(len(columns)))
        max_rows = self.c.max_rows
        try:
            while active:
                n = len(active)
                reps = max(1, min(repetitions, MAX_VARBINDS_PER_REQUEST // n))
                try:
                    varbinds = await self.session.bulk([last[i] for i in active], reps, self.timing)
                except _TooBig:
                    if repetitions <= 1:
                        raise
                    repetitions = max(1, reps // 4)
                    continue
                ended: set[int] = set()
                progressed = False
                for k, (oid, tag, value) in enumerate(varbinds):
                    ci = active[k % n]
                    if ci in ended:
                        continue
                    col = columns[ci]
                    cut = len(col)
                    if tag == END_OF_MIB_VIEW or len(oid) <= cut or not oid.startswith(col):
                        ended.add(ci)
                        continue
                    suffix = oid[cut:]
                    index = tuple(suffix) if max(suffix) < 0x80 else _subids(suffix)
                    before = last_index[ci]
                    if before is not None and index <= before:
                        ended.add(ci)
                        self.warnings.append(f"{what}: OIDs not increasing under {decode_oid(col)}; stopped there")
                        continue
                    rows[ci][index] = (oid, tag, value)
                    last[ci], last_index[ci] = oid, index
                    progressed = True
                    if len(rows[ci]) >= max_rows:
                        ended.add(ci)
                        self.warnings.append(f"{what}: stopped at {max_rows} rows under {decode_oid(col)}")
                if not varbinds:
                    break
                active = [ci for ci in active if ci not in ended]
                if not progressed and not ended:
                    self.warnings.append(f"{what}: the device stopped making progress; walk ended")
                    break
                repetitions = min(repetitions * 2, MAX_VARBINDS_PER_REQUEST)
        except (_NoAnswer, _TooBig, _Failed, _OverBudget, _AuthError, _PortUnreachable, BerError) as exc:
            self._warn(what, exc)
        return rows

    # ------------------------------------------------------------------ parts
    async def run(self) -> DeviceFacts:
        probe = self.probe
        if_number = as_int(probe.get(IF_NUMBER))
        base_ports = as_int(probe.get(DOT1D_BASE_NUM_PORTS)) if present(probe.get(DOT1D_BASE_NUM_PORTS)) else None
        has_host = present(probe.get(HR_MEMORY_SIZE))
        if_reps = if_number + 1 if if_number is not None and 0 <= if_number < 10_000 else 16
        tasks = {
            "texts": self.get(TEXT_OIDS, "system"),
            "entity": self.entity(),
            "interfaces": self.walk(IF_COLUMNS, if_reps, "interfaces"),
            "arp": self.walk([ARP_PHYS], 16, "ARP"),
            "lldp": self.lldp(),
        }
        if base_ports is not None:
            tasks["fdb"] = self.fdb(base_ports)
        if has_host:
            tasks["storage"] = self.walk(HR_STORAGE_COLUMNS, 16, "hrStorage")
            tasks["devices"] = self.walk([HR_DEVICE_TYPE], 16, "hrDevice")
            tasks["software"] = self.walk(HR_SW_COLUMNS, 32, "hrSWInstalled")
        results = dict(zip(tasks, await asyncio.gather(*tasks.values()), strict=True))
        return self.facts(results)

    async def entity(self) -> dict[str, Var]:
        row = await self.get(entity_row(1), "ENTITY-MIB")
        values = dict(zip(ENT_COLUMNS, (row.get(o) for o in entity_row(1)), strict=True))
        if as_int(values["class"]) == ENT_CHASSIS:
            return values
        (classes,) = await self.walk([ENT_CLASS], 8, "ENTITY-MIB")
        for index, var in classes.items():
            if as_int(var) == ENT_CHASSIS and len(index) == 1:
                row = await self.get(entity_row(index[0]), "ENTITY-MIB")
                return dict(zip(ENT_COLUMNS, (row.get(o) for o in entity_row(index[0])), strict=True))
        return {}

    async def fdb(self, base_ports: int) -> tuple[Row, Row]:
        reps = base_ports + 1 if 0 <= base_ports < 10_000 else 16
        (ports,), (fdb,) = await asyncio.gather(self.walk([BASE_PORT_IFINDEX], reps, "BRIDGE-MIB ports"), self.walk([FDB_PORT], 16, "BRIDGE-MIB FDB"))
        if not fdb:
            (qfdb,) = await self.walk([QFDB_PORT], 16, "Q-BRIDGE-MIB FDB")
            fdb = {index[1:]: var for index, var in qfdb.items() if len(index) == 7}  # (fdbId, mac)
        return ports, fdb

    async def lldp(self) -> tuple[list[Row], Row]:
        remote = await self.walk(LLDP_REM_COLUMNS, 8, "LLDP")
        local: Row = {}
        if any(remote):
            (local,) = await self.walk([LLDP_LOC_PORT_ID], 32, "LLDP local ports")
        return remote, local

    # ------------------------------------------------------------------ facts
    def facts(self, r: dict[str, Any]) -> DeviceFacts:
        return build_facts(self.target.address, self.probe, r, self.c.vendors, self.warnings)
