"""The one small interface every collector implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from collectors.records import DeviceFacts, SnmpCredential, SshCredential, Target


@runtime_checkable
class Collector(Protocol):
    """Collect one device. Async so that SNMP (asyncio) and SSH (threads) share one runner.

    `collect` returns the facts or raises a `collectors.records.CollectorError`; it must end
    within `timeout` seconds of its own accord (bounded library timeouts and retries), and it
    never lets a library exception or a secret escape.
    """

    name: str

    async def collect(self, target: Target, credential: SnmpCredential | SshCredential, timeout: float) -> DeviceFacts: ...
