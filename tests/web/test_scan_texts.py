"""Every failure text a scan writes has a Vietnamese explanation and hint (web.scan_texts).

The texts are produced by the real code (nmap with a failing runner, the allow-list, the scan
service, the runner, the SNMP and SSH collectors against a closed loopback port), so a new or
reworded message without a table entry fails here."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from typing import get_args

import pytest
from pydantic import SecretStr

from collectors import nmap as N
from collectors import runner, service
from collectors.records import CollectorError, ErrorKind, SnmpCredential, SshCredential, Target
from collectors.runner import RunOptions
from tests.inventory.factories import make_province
from web import scan_texts
from web.scan_texts import KIND_TEXTS, vietnamese_failure


def _error(call) -> BaseException:
    try:
        call()
    except BaseException as exc:  # the point is its text
        return exc
    raise AssertionError("no failure")


def _text(exc: BaseException) -> str:
    return exc.message if isinstance(exc, CollectorError) else str(exc)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _closed_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nmap_texts() -> list[str]:
    scope = N.Scope(["10.99.1.0/24"])

    def runner_raising(exc=None, returncode=0, stdout=""):
        def run(command, timeout):
            if exc is not None:
                raise exc
            return subprocess.CompletedProcess(command, returncode, stdout, "nmap: something went wrong\n")

        return run

    scans = [
        runner_raising(subprocess.TimeoutExpired("nmap", 5)),
        runner_raising(FileNotFoundError(2, "No such file or directory")),
        runner_raising(returncode=1),
        runner_raising(stdout="<not xml"),
    ]
    texts = [_text(_error(lambda r=r: N.NmapDiscovery(scope, runner=r).scan("10.99.1.0/24", snmp_ports=(), timeout=5))) for r in scans]
    wide = N.Scope(["10.0.0.0/8"])
    for target in ("10.1.0.0/24", "example.org", "10.99.1.0/33"):
        texts.append(_text(_error(lambda t=target: scope.check(t))))
    texts.append(_text(_error(lambda: wide.check("10.0.0.0/8"))))
    return texts


def service_texts(engine, session) -> list[str]:
    make_province(session)
    texts = [str(_error(lambda: service.discovery_targets(session, "NOPE", None, None))), str(_error(lambda: service.discovery_targets(session, "S1", None, "10.9.9.0/24")))]
    texts.append(str(_error(lambda: service.poll(engine, None, site="S1"))))

    # A discovery whose pieces fail: the run's error and each piece's failure.
    def no_nmap(command, timeout):
        raise FileNotFoundError(2, "No such file or directory")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(N, "run_subprocess", no_nmap)
        mp.setattr(service, "run_sync", lambda targets, book, options=None: [])
        result = service.discover(engine, None, site="S1")
    from inventory.models import ScanRun

    with service.db.session_scope(engine) as s:
        texts.append(s.get(ScanRun, result.scan_run_id).error)
    texts += [e["message"] for e in result.summary["subnet_errors"]]
    return texts


def runner_texts() -> list[str]:
    class NoCredentials:
        def snmp(self, target):
            return []

        def ssh(self, target):
            return []

    class Broken:
        name = "snmp"

        async def collect(self, target, credential, timeout):
            raise ValueError("a library bug")

    async def go():
        limits = {"snmp": asyncio.Semaphore(1), "ssh": asyncio.Semaphore(1)}
        outcome = await runner.collect_device(Target("127.0.0.1"), NoCredentials(), RunOptions(collectors={}), limits)
        broken = await runner._try_each(Broken(), Target("127.0.0.1"), [SnmpCredential(name="c", version="v2c", community=SecretStr("x"))], 1, [])
        return [outcome.error.message, broken.message]

    return asyncio.run(go())


def collector_texts() -> list[str]:
    from collectors.snmp.collector import SnmpCollector
    from collectors.ssh import SshCollector

    snmp, ssh = SnmpCollector(), SshCollector()
    port = _free_port()
    here = Target("127.0.0.1")

    def collect(collector, target, credential, timeout=1.0):
        return _text(_error(lambda: asyncio.run(collector.collect(target, credential, timeout))))

    return [
        collect(snmp, here, SnmpCredential(name="v2", version="v2c", community=SecretStr("public"), port=port)),  # closed UDP port
        collect(snmp, here, SnmpCredential(name="bare", version="v2c", port=port)),
        collect(snmp, here, SnmpCredential(name="short", version="v3", user="u", auth_key=SecretStr("k"), priv_key=SecretStr("k"), port=port)),
        collect(ssh, Target("127.0.0.1", platform="cisco_ios"), SshCredential(name="s", username="u", password=SecretStr("p"), port=_closed_tcp_port())),
        collect(ssh, Target("127.0.0.1", platform="no_such_os"), SshCredential(name="s", username="u", password=SecretStr("p"))),
    ]


# Texts written as literals where no quick real path makes them (kept in step with the code).
LITERALS = [
    "address answered but belongs to no known site",  # collectors.reconcile
    "interrupted: the process running it stopped (pid 4242)",  # inventory.runs.mark_interrupted
    "no answer from 10.1.2.3 within 14 s",  # collectors.runner: the backstop after a stuck library
    "SSH login refused for user 'admin' on 10.1.2.3:22",  # collectors.ssh, against a lab device
    "no SNMP answer from 10.1.2.3:161 within 3 s (wrong community, wrong port or filtered?)",
]


def test_every_real_failure_text_has_a_vietnamese_form(engine, session):
    texts = nmap_texts() + service_texts(engine, session) + runner_texts() + collector_texts() + LITERALS
    missing = [text for text in texts if vietnamese_failure(text) is None]
    assert not missing, missing
    for text in texts:
        failure = vietnamese_failure(text)
        assert "{" not in failure.what and failure.hint, text
        assert failure.detail == text


def test_a_job_error_is_read_with_its_kind_prefix():
    exc = _error(lambda: N.NmapDiscovery(N.Scope(["10.99.1.0/24"]), runner=lambda c, t: (_ for _ in ()).throw(subprocess.TimeoutExpired("nmap", 7))).scan("10.99.1.0/24", snmp_ports=(), timeout=5))
    failure = vietnamese_failure(service.failure_text(exc))
    assert failure.what.startswith("nmap không quét xong") and "dải nhỏ hơn" in failure.hint


def test_every_error_kind_has_a_generic_form_and_unknown_texts_are_not_invented():
    assert set(get_args(ErrorKind)) | {"skipped"} <= set(KIND_TEXTS)
    assert set(get_args(ErrorKind)) | {"skipped"} <= set(scan_texts.KIND_WORDS)
    assert vietnamese_failure("the flux capacitor overheated") is None


def test_an_unknown_text_gets_its_kinds_explanation_in_the_page(app):
    with app.test_request_context("/"):  # the default language: Vietnamese
        assert scan_texts.scan_failure("timeout: something new", None).what == KIND_TEXTS["timeout"][0]
        assert scan_texts.scan_failure("unknown site 'X9'").text().startswith("Không có đơn vị “X9”.")
