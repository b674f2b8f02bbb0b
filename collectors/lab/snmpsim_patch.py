"""Make snmpsim 1.2.2's command responder work under pysnmp 7 (and fast enough for a lab).

`apply()` (idempotent) monkeypatches the installed packages in-process; the launcher
`python -m collectors.lab.snmpsim_run` calls it before running snmpsim's `main()`.

What is broken and what this does:

1. snmpsim overrides `handleMgmtOperation(..., acInfo)` on its four command-responder
   classes, but pysnmp 7 calls `handle_management_operation(engine, stateRef, ctxName, pdu)`,
   so snmpsim's data-file probing never runs: data files are chosen only by the raw
   context name, SNMPv3 with an empty context times out (snmpsim unregisters the "" context),
   and `maxVarBinds` is ignored (pysnmp 7 reads `max_varbinds`).  We replace
   `snmpsim.commands.responder.{Get,Set,Next,Bulk}CommandResponder` with subclasses that
   implement the snake_case hook, run snmpsim's transport/context probing with pysnmp 7
   names, fall back to the request's own context name (v2c: md5(community), registered by
   snmpsim), and finally — for an empty SNMPv3 context — to the engine's only data file.
   The special "index" context (snmpsim's data-file catalogue) is never served: only
   data-file controllers answer, anything else is silently dropped like a wrong community.
2. Per-engine behaviour for the lab: `BEHAVIOUR[engine_id] = ("slow", seconds)` defers the
   *sending* of each response by `seconds` on the asyncio loop (non-blocking: other agents
   in the same process keep answering; snmpsim's own `delay` variation module uses
   time.sleep and would stall every agent in the process); `("hang", 0)` drops every
   request after receiving it (agent bound, never answers).  SNMPv3 engine-ID discovery is
   answered by the message layer and is not affected.
3. Speed: pysnmp's MibBuilder compiles each bundled MIB module's source (twice when not
   run with -O) for *every* SnmpEngine; we cache the code objects so one process can host
   hundreds of engines (one per simulated device) — ~110 ms -> ~30 ms per engine.
   USM password-to-key localisation (1 MB of hashing fed 64 bytes at a time in Python,
   twice per user) is replaced by an equivalent single hash call, memoised.
   snmpsim's data-file index uses dbm, which here is the very slow `dbm.dumb`; replaced by
   marshal-persisted dicts (see `_install_memory_index`).
   snmpsim keeps only 31 data files open and reopens others per request; raised to 2000
   (bounded by RLIMIT_NOFILE).
   GETBULK responses are trimmed to the var-binds that fit (RFC 3416 4.2.3) instead of being
   dropped as tooBig by pysnmp, so a walk over a huge value still progresses.
4. Root: snmpsim refuses to run as root without --process-user/--process-group and then
   drops privileges; our interpreter lives under /root/.pyenv, unreadable for `nobody`.
   snmpsim's own escape hatch `SNMPSIM_ALLOW_ROOT=true` is set (setdefault) so it stays root.
   The lab only binds loopback UDP ports >= 1024, so root changes nothing on the wire.
5. snmpsim.utils does `import pysmi` only to print versions in its banner; pysmi is not a
   declared dependency and is not installed here, so a stub module is provided if missing.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import types
from hashlib import md5

_applied = False

# engine ID octets -> (behaviour, seconds)
BEHAVIOUR: dict[bytes, tuple[str, float]] = {}


def _install_mib_code_cache() -> None:
    from pysnmp.smi import builder

    read_cache: dict[tuple[str, str], tuple[object, str]] = {}
    orig_read = builder.DirMibSource.read

    def read(self, f):
        key = (self._srcName, f)
        hit = read_cache.get(key)
        if hit is None:
            hit = read_cache[key] = orig_read(self, f)
        return hit

    builder.DirMibSource.read = read

    path_cache: dict[str, object] = {}

    def run_path(path, init_globals=None):
        code = path_cache.get(path)
        if code is None:
            with open(path, encoding="utf-8") as fh:
                code = path_cache[path] = compile(fh.read(), path, "exec")
        g = init_globals if init_globals is not None else {}
        exec(code, g)  # noqa: S102 - pysnmp's own bundled MIB modules
        return g

    builder.runpy = types.SimpleNamespace(run_path=run_path)


def _install_fast_key_hash() -> None:
    """RFC 3414 A.2 password-to-key: same result, one C-level hash call instead of 16384."""
    from functools import lru_cache

    from pyasn1.type import univ
    from pysnmp.proto.secmod.rfc3414 import localkey

    @lru_cache(maxsize=4096)
    def digest(passphrase: bytes, hash_func) -> bytes:
        stream = passphrase * (1048576 // len(passphrase) + 1)
        return hash_func(stream[:1048576]).digest()

    def hash_passphrase(passphrase, hashFunc):  # noqa: N803
        return univ.OctetString(digest(univ.OctetString(passphrase).asOctets(), hashFunc))

    localkey.hash_passphrase = hash_passphrase


def _install_memory_index() -> None:
    """Replace snmpsim's dbm data-file index by marshal files kept in memory.

    Only `dbm.dumb` exists in this Python (no gdbm/ndbm); it reopens its directory file for
    every key written, ~4 s for 125 small data files.  snmpsim uses just open/[]=/[]/close
    and whichdb(), so a dict persisted with marshal is a drop-in replacement.
    """
    import marshal

    from snmpsim.record.search import database

    loaded: dict[str, dict] = {}

    class _Db(dict):
        def __init__(self, path: str, writable: bool, data: dict | None = None) -> None:
            super().__init__(data or {})
            self._path, self._writable = path, writable

        def __setitem__(self, key, value) -> None:
            key = key.decode("iso-8859-1") if isinstance(key, bytes) else str(key)
            value = value if isinstance(value, bytes) else str(value).encode("iso-8859-1")
            super().__setitem__(key, value)

        def __getitem__(self, key):
            if isinstance(key, bytes):
                key = key.decode("iso-8859-1")
            return super().__getitem__(key)

        def close(self) -> None:
            if self._writable:
                data = dict(self)
                with open(self._path, "wb") as fh:
                    marshal.dump(data, fh)
                loaded[self._path] = data
                self._writable = False

    def open_db(path: str, flag: str = "r", mode: int = 0o666) -> _Db:  # noqa: ARG001
        if flag[:1] == "n":
            return _Db(path, True)
        data = loaded.get(path)
        if data is None:
            with open(path, "rb") as fh:
                data = loaded[path] = marshal.load(fh)  # noqa: S302 (snmpsim's own cache format)
        return _Db(path, False, data)

    def whichdb(path: str) -> str | None:
        return "marshal" if os.path.exists(path) else None

    shim = types.SimpleNamespace(open=open_db, whichdb=whichdb)
    database.dbm = shim
    database.whichdb = shim


def _make_responders():
    from pysnmp import error as pysnmp_error
    from pysnmp.entity.rfc3413 import cmdrsp
    from pysnmp.smi import error as smi_error
    from snmpsim import controller, datafile, log
    from snmpsim.error import NoDataNotification

    data_controllers = (controller.MibInstrumController,)

    def probe_context(responder, snmp_engine, context_name) -> bytes:
        names = responder.snmpContext.context_names
        exec_ctx = snmp_engine.observer.get_execution_context("rfc3412.receiveMessage:request")
        ctx_engine_id = exec_ctx["contextEngineId"]
        if ctx_engine_id == snmp_engine.snmpEngineID:
            ctx_engine_id = datafile.SELF_LABEL
        else:
            ctx_engine_id = ctx_engine_id.prettyPrint()
        raw_name = bytes(exec_ctx["contextName"])
        # 1. snmpsim's layout: <ctx engine>/<context>/<transport domain>/<source address>
        for candidate in datafile.probe_context(
            exec_ctx["transportDomain"],
            exec_ctx["transportAddress"],
            ctx_engine_id,
            raw_name.decode("iso-8859-1"),
        ):
            if len(candidate) > 32:
                candidate = md5(candidate).hexdigest().encode()  # noqa: S324 (snmpsim names cache files by MD5, not for security)
            if isinstance(names.get(candidate), data_controllers):
                return candidate
        # 2. the context name as resolved by pysnmp (v2c: md5(community) of a data file)
        name = bytes(context_name)
        if isinstance(names.get(name), data_controllers):
            return name
        # 3. SNMPv3 with an empty context: the engine's only data file
        if not name:
            found = {id(v): k for k, v in names.items() if isinstance(v, data_controllers)}
            if len(found) == 1:
                return next(iter(found.values()))
        log.error(f"no data file for context {name!r}; dropping request")
        raise NoDataNotification()

    def _fit(responder, state_reference, var_binds):
        """RFC 3416 4.2.3: a GETBULK response carries only as many var-binds as fit.

        pysnmp 7 instead builds an oversized message, fails with tooBig and silently drops
        it, so one huge value (a hostile 64 KB string) would make every bulk walk time out.
        """
        pending = responder._CommandResponderBase__pendingReqs.get(state_reference)
        max_size = int(pending[9]) if pending else 65507
        budget = max(484, min(max_size, 65507) - 1200)  # headers, USM, privacy padding
        used, out = 0, []
        for oid, val in var_binds:
            try:
                size = len(val.asOctets()) if hasattr(val, "asOctets") else 16
            except Exception:  # noqa: BLE001
                size = 16
            size += len(oid) * 2 + 12
            if out and used + size > budget:
                break
            used += size
            out.append((oid, val))
        return out

    def make(base):
        class Patched(base):
            def handle_management_operation(self, snmpEngine, stateReference, contextName, PDU):  # noqa: N803
                behaviour, _ = BEHAVIOUR.get(bytes(snmpEngine.snmpEngineID), ("normal", 0.0))
                if behaviour == "hang":
                    self.release_state_information(stateReference)
                    return
                try:
                    ctx = probe_context(self, snmpEngine, contextName)
                except NoDataNotification:
                    self.release_state_information(stateReference)
                    return
                base.handle_management_operation(self, snmpEngine, stateReference, ctx, PDU)

            def send_varbinds(self, snmpEngine, stateReference, errorStatus, errorIndex, varBinds):  # noqa: N803
                if base is cmdrsp.BulkCommandResponder and len(varBinds) > 1:
                    varBinds = _fit(self, stateReference, varBinds)  # noqa: N806 (pysnmp's names)
                behaviour, delay = BEHAVIOUR.get(bytes(snmpEngine.snmpEngineID), ("normal", 0.0))
                if behaviour != "slow" or delay <= 0:
                    return base.send_varbinds(self, snmpEngine, stateReference, errorStatus, errorIndex, varBinds)
                pending = self._CommandResponderBase__pendingReqs
                saved = pending[stateReference]

                def later():
                    pending[stateReference] = saved
                    try:
                        base.send_varbinds(self, snmpEngine, stateReference, errorStatus, errorIndex, varBinds)
                    except (pysnmp_error.PySnmpError, smi_error.SmiError) as exc:
                        log.error(f"delayed response failed: {exc}")
                    finally:
                        self.release_state_information(stateReference)

                asyncio.get_event_loop().call_later(delay, later)

            # snmpsim sets the camelCase attribute; pysnmp 7 reads max_varbinds
            @property
            def maxVarBinds(self):  # noqa: N802
                return self.max_varbinds

            @maxVarBinds.setter
            def maxVarBinds(self, value):  # noqa: N802
                self.max_varbinds = int(value)

        Patched.__name__ = Patched.__qualname__ = base.__name__
        return Patched

    return (
        make(cmdrsp.GetCommandResponder),
        make(cmdrsp.SetCommandResponder),
        make(cmdrsp.NextCommandResponder),
        make(cmdrsp.BulkCommandResponder),
    )


def apply() -> None:
    """Patch pysnmp/snmpsim in this process (idempotent)."""
    global _applied
    if _applied:
        return
    os.environ.setdefault("SNMPSIM_ALLOW_ROOT", "true")
    try:
        import pysmi  # noqa: F401 - snmpsim.utils imports it only for its version banner
    except ImportError:
        sys.modules["pysmi"] = types.SimpleNamespace(__version__="(not installed)")
    _install_mib_code_cache()
    _install_fast_key_hash()
    _install_memory_index()

    from snmpsim import datafile
    from snmpsim.commands import responder

    (
        responder.GetCommandResponder,
        responder.SetCommandResponder,
        responder.NextCommandResponder,
        responder.BulkCommandResponder,
    ) = _make_responders()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 8192 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (8192, hard))
        soft = 8192
    limit = 2000 if soft == resource.RLIM_INFINITY else max(31, min(2000, (soft - 200) // 3))
    datafile.DataFile.max_queue_entries = limit
    _applied = True


def set_behaviour(engine_id: bytes, behaviour: str, seconds: float = 0.0) -> None:
    if behaviour not in ("normal", "slow", "hang"):
        raise ValueError(f"unknown behaviour {behaviour!r}")
    BEHAVIOUR[bytes(engine_id)] = (behaviour, float(seconds))
