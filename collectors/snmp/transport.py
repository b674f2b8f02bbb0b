"""How one visit talks to a device: sessions that send GET and GETBULK and return raw var-binds.

* `_V2cSession`: SNMPv2c with kiemke's codec over one connected asyncio UDP socket (a
  connected socket also turns an ICMP port unreachable into an immediate `_PortUnreachable`).
* `_NativeV3Session`: SNMPv3 authPriv with the same codec plus USM (`collectors.snmp.usm`):
  engine discovery per visit, HMAC with `hmac`, AES-CFB with `cryptography`.
* `_PysnmpV3Session`: SNMPv3 through pysnmp's hlapi, the reference implementation.

Each request is retried within the visit's deadline; what goes wrong is one of the private
exceptions below, which the collector turns into warnings or `CollectorError`s.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from collectors.records import Unreachable
from collectors.snmp.ber import (
    _EXCEPTIONS,
    _UNSIGNED,
    GET,
    GETBULK,
    INTEGER,
    NULL,
    OCTETS,
    OID,
    REPORT,
    RESPONSE,
    SEQUENCE,
    BerError,
    Var,
    _header,
    _tlv,
    decode_message,
    decode_oid,
    encode_oid,
    encode_pdu,
    encode_request,
)
from collectors.snmp.usm import (
    FLAG_AUTH,
    FLAG_PRIV,
    FLAG_REPORTABLE,
    USM_REPORTS,
    V3Message,
    _aes_cfb,
    _UsmUser,
    decode_scoped_pdu,
    decode_v3,
    encode_v3,
)

MAX_BYTES = 32 * 1024 * 1024  # received from one device in one visit


class _NoAnswer(Exception):
    pass


class _TooBig(Exception):
    pass


class _AuthError(Exception):
    pass


class _PortUnreachable(Exception):
    pass


class _OverBudget(Exception):
    pass


class _Failed(Exception):
    """The device answered with an error (error-status, a report, a malformed message)."""


@dataclass
class _Timing:
    deadline: float  # loop.time() by which the visit ends
    attempt: float  # seconds per attempt
    retries: int


class _Session:
    """One visit's way to a device: GET and GETBULK returning raw var-binds."""

    host: str
    port: int
    received: int = 0

    async def get(self, oids: Sequence[bytes], timing: _Timing) -> list[Var]:
        raise NotImplementedError

    async def bulk(self, oids: Sequence[bytes], repetitions: int, timing: _Timing) -> list[Var]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _UdpProtocol(asyncio.DatagramProtocol):
    """Hands each datagram to `accept` (which returns (id, result) or None for garbage) and
    completes the future waiting for that id."""

    def __init__(self, accept: Any) -> None:
        self.accept = accept
        self.waiting: dict[int, asyncio.Future] = {}

    def datagram_received(self, data: bytes, addr: Any) -> None:  # noqa: ARG002
        try:
            accepted = self.accept(data)
        except (BerError, ValueError):
            return  # garbage: ignore, the request times out if nothing better comes
        if accepted is None:
            return
        future = self.waiting.get(accepted[0])
        if future is not None and not future.done():
            future.set_result((len(data), accepted[1]))

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError):  # ICMP port/host unreachable on the connected socket
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(_PortUnreachable(str(exc)))


_request_ids = itertools.count(int.from_bytes(os.urandom(3), "big") + 1)


class _UdpSession(_Session):
    """A connected UDP socket, request ids, retries within the visit's deadline."""

    def __init__(self, host: str, port: int, parallel: int) -> None:
        self.host, self.port = host, port
        self.protocol = _UdpProtocol(self.accept)
        self.transport: asyncio.DatagramTransport | None = None
        self.limit = asyncio.Semaphore(parallel)
        self.received = 0

    def accept(self, data: bytes) -> tuple[int, Any] | None:
        raise NotImplementedError

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.transport, _ = await loop.create_datagram_endpoint(lambda: self.protocol, remote_addr=(self.host, self.port))
        except OSError as exc:
            raise Unreachable(f"cannot send SNMP to {self.host}:{self.port}: {exc.strerror or exc}") from None

    async def exchange(self, request_id: int, message: bytes, timing: _Timing) -> Any:
        """Send `message` (again after each attempt timeout) until its answer comes."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.protocol.waiting[request_id] = future
        try:
            async with self.limit:
                for _attempt in range(timing.retries + 1):
                    left = timing.deadline - loop.time()
                    if left <= 0:
                        break
                    assert self.transport is not None
                    self.transport.sendto(message)
                    try:
                        size, result = await asyncio.wait_for(asyncio.shield(future), min(timing.attempt, left))
                    except TimeoutError:
                        continue
                    self.received += size
                    if self.received > MAX_BYTES:
                        raise _OverBudget()
                    return result
                raise _NoAnswer()
        finally:
            self.protocol.waiting.pop(request_id, None)
            if not future.done():
                future.cancel()

    @staticmethod
    def check(status: int) -> None:
        if status == 1:
            raise _TooBig()
        if status:
            raise _Failed(f"error-status {_STATUS.get(status, status)}")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _V2cSession(_UdpSession):
    def __init__(self, host: str, port: int, community: bytes, parallel: int) -> None:
        super().__init__(host, port, parallel)
        self.community = community

    def accept(self, data: bytes) -> tuple[int, Any] | None:
        community, pdu, request_id, status, _index, varbinds = decode_message(data)
        if pdu != RESPONSE or community != self.community:
            return None
        return request_id, (status, varbinds)

    async def _request(self, pdu: int, a: int, b: int, oids: Sequence[bytes], timing: _Timing) -> list[Var]:
        request_id = next(_request_ids) & 0x7FFFFFFF
        status, varbinds = await self.exchange(request_id, encode_request(pdu, self.community, request_id, a, b, oids), timing)
        self.check(status)
        return varbinds

    async def get(self, oids: Sequence[bytes], timing: _Timing) -> list[Var]:
        return await self._request(GET, 0, 0, oids, timing)

    async def bulk(self, oids: Sequence[bytes], repetitions: int, timing: _Timing) -> list[Var]:
        return await self._request(GETBULK, 0, repetitions, oids, timing)


_salts = itertools.count(int.from_bytes(os.urandom(7), "big"))


class _NativeV3Session(_UdpSession):
    """SNMPv3 authPriv with kiemke's codec: engine discovery, HMAC-SHA(-256), AES-CFB."""

    def __init__(self, host: str, port: int, user: _UsmUser, parallel: int) -> None:
        super().__init__(host, port, parallel)
        self.user = user
        self.engine_id = b""
        self.boots = 0
        self.engine_time = 0
        self.synced_at = 0.0
        self.discovery: asyncio.Future | None = None

    # ------------------------------------------------------------------ crypto
    def _cipher(self, key: bytes, boots: int, engine_time: int, salt: bytes) -> Any:
        iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
        return _aes_cfb(key, iv)

    def _mac(self, key: bytes, message: bytes) -> bytes:
        return hmac.new(key, message, self.user.hash_name).digest()[: self.user.auth_len]

    def accept(self, data: bytes) -> tuple[int, Any] | None:
        m = decode_v3(data)
        if m.flags & FLAG_AUTH:
            if m.engine_id != self.engine_id or len(m.auth_params) != self.user.auth_len:
                return None
            auth_key, priv_key = self.user.keys(m.engine_id)
            zeroed = data[: m.auth_offset] + b"\x00" * self.user.auth_len + data[m.auth_offset + self.user.auth_len :]
            if not hmac.compare_digest(self._mac(auth_key, zeroed), m.auth_params):
                return None  # forged or damaged: drop it
        if m.flags & FLAG_PRIV:
            if not m.flags & FLAG_AUTH or len(m.priv_params) != 8:
                return None
            _, n, p = _header(data, m.data_offset, OCTETS)
            decryptor = self._cipher(priv_key, m.boots, m.engine_time, m.priv_params).decryptor()
            scoped = decryptor.update(data[p : p + n]) + decryptor.finalize()
            pdu, request_id, status, _index, varbinds = decode_scoped_pdu(scoped)
        else:
            pdu, request_id, status, _index, varbinds = decode_scoped_pdu(data, m.data_offset)
        if pdu == REPORT:
            # unauthenticated reports are how USM says "wrong key/user"; they cannot forge data
            report = decode_oid(varbinds[0][0]) if varbinds else ""
            return m.msg_id, ("report", USM_REPORTS.get(report, report), m)
        if pdu != RESPONSE or not m.flags & FLAG_AUTH:
            return None
        return m.msg_id, ("response", status, varbinds)

    # ------------------------------------------------------------------ protocol
    async def _discover(self, timing: _Timing) -> None:
        """Learn the agent's engine ID, boots and time (RFC 3414 4)."""
        msg_id = next(_request_ids) & 0x7FFFFFFF
        scoped = _tlv(SEQUENCE, _tlv(OCTETS, b"") + _tlv(OCTETS, b"") + encode_pdu(GET, msg_id, 0, 0, []))
        message, _ = encode_v3(msg_id, FLAG_REPORTABLE, b"", 0, 0, b"", 0, b"", scoped)
        result = await self.exchange(msg_id, message, timing)
        if result[0] != "report" or not result[2].engine_id:
            raise _Failed("SNMPv3 engine discovery got no engine ID")
        self._sync(result[2])

    def _sync(self, m: V3Message) -> None:
        self.engine_id, self.boots, self.engine_time = m.engine_id, m.boots, m.engine_time
        self.synced_at = asyncio.get_running_loop().time()

    async def _request(self, pdu: int, a: int, b: int, oids: Sequence[bytes], timing: _Timing) -> list[Var]:
        if self.discovery is None:
            self.discovery = asyncio.ensure_future(self._discover(timing))
        try:
            await asyncio.shield(self.discovery)
        except BaseException:
            self.discovery = None  # let the next request try again
            raise
        for _again in range(2):
            msg_id = next(_request_ids) & 0x7FFFFFFF
            auth_key, priv_key = self.user.keys(self.engine_id)
            engine_time = self.engine_time + int(asyncio.get_running_loop().time() - self.synced_at)
            salt = (next(_salts) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
            scoped = _tlv(SEQUENCE, _tlv(OCTETS, self.engine_id) + _tlv(OCTETS, b"") + encode_pdu(pdu, msg_id, a, b, oids))
            encryptor = self._cipher(priv_key, self.boots, engine_time, salt).encryptor()
            encrypted = encryptor.update(scoped) + encryptor.finalize()
            message, offset = encode_v3(
                msg_id, FLAG_AUTH | FLAG_PRIV | FLAG_REPORTABLE, self.engine_id, self.boots, engine_time,
                self.user.name, self.user.auth_len, salt, _tlv(OCTETS, encrypted),
            )  # fmt: skip
            message = message[:offset] + self._mac(auth_key, message) + message[offset + self.user.auth_len :]
            result = await self.exchange(msg_id, message, timing)
            if result[0] == "response":
                self.check(result[1])
                return result[2]
            report, m = result[1], result[2]
            if report == "notInTimeWindow" and m.flags & FLAG_AUTH:
                self._sync(m)  # the agent's clock, authenticated: try once more
                continue
            if report == "unknownEngineID":
                self._sync(m)
                continue
            if report in ("unknownUserName", "wrongDigest", "decryptionError", "unsupportedSecurityLevel"):
                raise _AuthError(report)
            raise _Failed(f"report {report}")
        raise _Failed("SNMPv3 time synchronisation failed")

    async def get(self, oids: Sequence[bytes], timing: _Timing) -> list[Var]:
        return await self._request(GET, 0, 0, oids, timing)

    async def bulk(self, oids: Sequence[bytes], repetitions: int, timing: _Timing) -> list[Var]:
        return await self._request(GETBULK, 0, repetitions, oids, timing)


_STATUS = {
    1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr", 6: "noAccess",
    7: "wrongType", 8: "wrongLength", 9: "wrongEncoding", 10: "wrongValue", 11: "noCreation",
    12: "inconsistentValue", 13: "resourceUnavailable", 14: "commitFailed", 15: "undoFailed",
    16: "authorizationError", 17: "notWritable", 18: "inconsistentName",
}  # fmt: skip


class _PysnmpV3Session(_Session):
    """SNMPv3 authPriv through pysnmp's hlapi on a cached per-credential engine."""

    def __init__(self, engine: Any, auth: Any, host: str, port: int) -> None:
        self.engine, self.auth = engine, auth
        self.host, self.port = host, port
        self.targets: dict[tuple[float, int], Any] = {}
        self.received = 0

    async def _target(self, timing: _Timing, left: float) -> Any:
        from pysnmp.hlapi.v3arch.asyncio import UdpTransportTarget

        attempt = round(max(0.05, min(timing.attempt, left)), 2)
        key = (attempt, timing.retries)
        if key not in self.targets:
            self.targets[key] = await UdpTransportTarget.create((self.host, self.port), timeout=attempt, retries=timing.retries)
        return self.targets[key]

    async def _call(self, timing: _Timing, run: Any) -> list[Var]:
        from pysnmp.proto import errind

        loop = asyncio.get_running_loop()
        left = timing.deadline - loop.time()
        if left <= 0:
            raise _NoAnswer()
        target = await self._target(timing, left)
        try:
            err, status, _index, varbinds = await asyncio.wait_for(run(target), left)
        except TimeoutError:
            raise _NoAnswer() from None
        if err:
            if isinstance(err, errind.RequestTimedOut):
                raise _NoAnswer()
            if isinstance(err, _auth_error_types()):
                raise _AuthError(type(err).__name__)
            raise _Failed(str(err))
        if status:
            if int(status) == 1:
                raise _TooBig()
            raise _Failed(f"error-status {_STATUS.get(int(status), int(status))}")
        out = [_from_pyasn1(name, value) for name, value in varbinds]
        self.received += sum(len(v[2]) + len(v[0]) + 4 for v in out)
        if self.received > MAX_BYTES:
            raise _OverBudget()
        return out

    async def get(self, oids: Sequence[bytes], timing: _Timing) -> list[Var]:
        from pysnmp.hlapi.v3arch.asyncio import ContextData, get_cmd

        binds = _object_types(oids)
        return await self._call(timing, lambda target: get_cmd(self.engine, self.auth, target, ContextData(), *binds, lookupMib=False))

    async def bulk(self, oids: Sequence[bytes], repetitions: int, timing: _Timing) -> list[Var]:
        from pysnmp.hlapi.v3arch.asyncio import ContextData, bulk_cmd

        binds = _object_types(oids)
        return await self._call(
            timing,
            lambda target: bulk_cmd(self.engine, self.auth, target, ContextData(), 0, repetitions, *binds, lookupMib=False),
        )


def _object_types(oids: Sequence[bytes]) -> list[Any]:
    from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType

    return [ObjectType(ObjectIdentity(decode_oid(o))) for o in oids]


def _from_pyasn1(name: Any, value: Any) -> Var:
    tag = value.tagSet[-1]
    code = tag.tagClass | tag.tagFormat | tag.tagId
    if code in (INTEGER, *_UNSIGNED):
        n = int(value)
        raw = n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True)
    elif code == OID:
        raw = encode_oid(tuple(value))
    elif code in _EXCEPTIONS or code == NULL:
        raw = b""
    else:
        raw = bytes(value.asOctets())
    return encode_oid(tuple(name)), code, raw


@functools.cache
def _auth_error_types() -> tuple[type, ...]:
    """pysnmp's error indications that mean wrong credentials (imported once, when first needed)."""
    from pysnmp.proto import errind

    return (
        errind.WrongDigest, errind.DecryptionError, errind.AuthenticationError,
        errind.AuthenticationFailure, errind.UnknownUserName, errind.UnknownSecurityName,
        errind.UnsupportedSecurityLevel, errind.NoAuthentication, errind.NoEncryption,
        errind.UnsupportedAuthProtocol, errind.UnsupportedPrivProtocol,
    )  # fmt: skip
