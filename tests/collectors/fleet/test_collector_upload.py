"""A collector and its hub: hello (the assignment), uploads acknowledged and dropped, a hub that
fails or cannot be reached leaves the outbox as it was; the air-gap file and the ack file."""

from __future__ import annotations

import json
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from collectors.fleet import client, identity, outbox, runtime, wire
from inventory import db
from inventory.models import CollectorIdentity, OutboxEntry
from inventory.settings import Settings
from tests.collectors.fleet.collector_kit import FakeHub, make_collector, snapshot

pytestmark = pytest.mark.db


class StandInHub:
    """The hub's two endpoints, as far as a collector can tell: signature checked with the
    collector's registered key, batches stored by number, the contiguous number acknowledged."""

    def __init__(self, kit, hub: FakeHub, tls=None) -> None:
        self.kit, self.hub = kit, hub
        self.stored: dict[int, dict] = {}
        self.requests: list[str] = []
        self.fail_with: int | None = None
        self.refuse: set[int] = set()
        self.lose: set[int] = set()  # batches lost on the way in
        self.assignment: bytes | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.requests.append(self.path)
                status, answer = owner.answer(self.path, body)
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"{scheme}://127.0.0.1:{self.server.server_port}"

    def answer(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.fail_with:
            return self.fail_with, b"hub trouble\n"
        magic = client.HELLO if path == client.HELLO_PATH else wire.BATCHES
        frame = wire.read_frame(body, magic, what="request")
        if frame.signer != self.kit.keys.name or not identity.verify(self.kit.keys.signing_public, frame.payload, frame.signature):
            return 403, b"not signed by a registered collector\n"
        if path == client.HELLO_PATH:
            document = wire.unpack_json(frame.payload, client.HELLO_FORMAT, "hello")
            assert document["collector"] == self.kit.keys.name and "pending" in document["status"]
            return (200, self.assignment) if self.assignment else (204, b"")
        envelope = wire.unpack_batches(frame.payload, self.kit.keys.name)
        refused = []
        for batch in envelope["batches"]:
            if batch["seq"] in self.lose:
                continue
            self.stored.setdefault(batch["seq"], batch)
            if batch["seq"] in self.refuse:
                refused.append({"seq": batch["seq"], "reason": "outside the zone"})
        acked = 0
        while acked + 1 in self.stored:
            acked += 1
        return 200, json.dumps({"acked_seq": acked, "refused": refused}).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def setup(engine, db_url, tmp_path):
    kit = make_collector(engine, db_url, tmp_path / "collector", hub_url="http://127.0.0.1:1")
    hub = StandInHub(kit, FakeHub())
    with db.session_scope(engine) as session:
        session.get(CollectorIdentity, 1).hub_url = hub.url
    yield kit, hub
    hub.close()


def _fill(engine, n: int, pad: int = 10) -> None:
    with db.session_scope(engine) as session:
        for i in range(n):
            outbox.append(session, "poll", {"n": i, "pad": "p" * pad})


def _pending(engine) -> list[int]:
    with db.session_scope(engine) as session:
        return list(session.execute(select(OutboxEntry.seq).order_by(OutboxEntry.seq)).scalars())


def test_hello_takes_the_assignment_and_uploads_go_in_requests_until_acknowledged(setup):
    kit, hub = setup
    hub.assignment = hub.hub.assignment(kit)
    _fill(kit.engine, 5, pad=2000)
    result = client.sync(kit.engine, kit.settings, client.HubClient(hub.url))
    assert result.error is None and result.taken.version == 1 and not result.taken.already
    # Small requests: the five entries go in several, each acknowledged and dropped.
    result = client.SyncResult()
    _fill(kit.engine, 3, pad=2000)
    client.upload(kit.engine, kit.settings, client.HubClient(hub.url), result, request_bytes=1)
    assert result.acked_seq == 8 and _pending(kit.engine) == []
    assert sorted(hub.stored) == list(range(1, 9)) and hub.requests.count(client.BATCHES_PATH) == 1 + 3
    with db.session_scope(kit.engine) as session:
        me = session.get(CollectorIdentity, 1)
        assert me.acked_seq == 8 and me.assignment_version == 1 and me.last_upload_error is None
    # The assignment again (the same version): nothing taken twice.
    assert client.sync(kit.engine, kit.settings, client.HubClient(hub.url)).taken.already


def test_refused_batches_are_reported_and_a_gap_stops_the_upload(setup, caplog):
    kit, hub = setup
    _fill(kit.engine, 4)
    hub.refuse = {2}
    hub.stored[3] = {"seq": 3}  # as though 1 had been lost on the way: the hub waits for it
    result = client.sync(kit.engine, kit.settings, client.HubClient(hub.url), with_hello=False)
    assert result.refused == [{"seq": 2, "reason": "outside the zone"}] and "refused batch 2" in caplog.text
    assert result.acked_seq == 4 and _pending(kit.engine) == []
    # A batch lost on the way: the hub acknowledges up to the gap; the rest stays and the upload
    # stops (no loop of requests) until the next one.
    hub.lose = {6}
    _fill(kit.engine, 3)
    requests = len(hub.requests)
    result = client.sync(kit.engine, kit.settings, client.HubClient(hub.url), with_hello=False)
    assert result.error is None and result.acked_seq == 5 and _pending(kit.engine) == [6, 7] and len(hub.requests) == requests + 1
    hub.lose = set()
    assert client.sync(kit.engine, kit.settings, client.HubClient(hub.url), with_hello=False).acked_seq == 7 and _pending(kit.engine) == []


@pytest.mark.parametrize("trouble", ["unreachable", "500", "403"])
def test_a_hub_that_fails_leaves_the_outbox_as_it_was(setup, trouble, caplog):
    kit, hub = setup
    _fill(kit.engine, 3)
    url = hub.url
    if trouble == "unreachable":
        hub.close()
    elif trouble == "500":
        hub.fail_with = 500
    else:
        # The hub knows another key under this name (the collector was made anew): refused.
        hub.kit = SimpleNamespace(keys=identity.collector_keys(Settings(home=kit.settings.home.parent / "other"), kit.keys.name))
    before = snapshot(kit.engine)
    result = client.sync(kit.engine, kit.settings, client.HubClient(url, timeout=5))
    assert result.error and snapshot(kit.engine) == before and _pending(kit.engine) == [1, 2, 3]
    with db.session_scope(kit.engine) as session:
        assert session.get(CollectorIdentity, 1).last_upload_error == result.error
    assert len([r for r in caplog.records if r.name == "kiemke.collector"]) == 1  # one line
    if trouble == "unreachable":
        hub.server = _Closed()


class _Closed:
    def shutdown(self) -> None: ...
    def server_close(self) -> None: ...


def test_plain_http_only_to_loopback():
    assert client.check_hub_url("https://hub.example.vn/kiemke/") == "https://hub.example.vn/kiemke"
    assert client.check_hub_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    for bad in ("http://10.0.0.5:8080", "ftp://127.0.0.1", "https://user:pw@hub.example.vn", "file:///etc/passwd", "hub.example.vn"):
        with pytest.raises(ValueError):
            client.check_hub_url(bad)


def test_export_is_signed_private_and_the_ack_file_needs_the_pinned_hub(engine, db_url, tmp_path):
    kit = make_collector(engine, db_url, tmp_path / "collector")
    hub = FakeHub()
    out = tmp_path / "out" / "c-test.kcb"
    with pytest.raises(runtime.CollectorError, match="no hub key is pinned"):
        (tmp_path / "early.ack").write_bytes(hub.ack(kit.keys.name, 1))
        runtime.take_ack(engine, tmp_path / "early.ack")
    from collectors.fleet.assign_take import take

    take(engine, kit.settings, hub.assignment(kit))
    _fill(engine, 3)
    assert runtime.export(engine, kit.settings, out) == 3
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    frame = wire.read_frame(out.read_bytes(), wire.BATCHES, what="file")
    assert frame.signer == kit.keys.name and identity.verify(kit.keys.signing_public, frame.payload, frame.signature)
    envelope = wire.unpack_batches(frame.payload, kit.keys.name)
    assert [b["seq"] for b in envelope["batches"]] == [1, 2, 3] and envelope["status"]["pending"] == 3
    assert _pending(engine) == [1, 2, 3]  # exporting acknowledges nothing

    ack = tmp_path / "c-test.kcb.ack"
    for wrong, match in ((FakeHub().ack(kit.keys.name, 3), "not signed by the hub"), (hub.ack("c-other", 3), "another collector")):
        ack.write_bytes(wrong)
        with pytest.raises(runtime.CollectorError, match=match):
            runtime.take_ack(engine, ack)
        assert _pending(engine) == [1, 2, 3]
    ack.write_bytes(hub.ack(kit.keys.name, 2, [{"seq": 2, "reason": "outside the zone"}]))
    done = runtime.take_ack(engine, ack)
    assert (done.acked_seq, done.removed, done.refused) == (2, 2, [{"seq": 2, "reason": "outside the zone"}])
    assert _pending(engine) == [3]
    assert runtime.take_ack(engine, ack).removed == 0  # the same file again changes nothing


def test_a_refused_assignment_does_not_hold_the_results_back(setup):
    kit, hub = setup
    hub.assignment = hub.hub.assignment(kit)
    assert client.sync(kit.engine, kit.settings, client.HubClient(hub.url)).taken.pinned_now
    hub.assignment = FakeHub().assignment(kit, version=2)  # another hub key: refused
    _fill(kit.engine, 2)
    result = client.sync(kit.engine, kit.settings, client.HubClient(hub.url))
    assert "assignment was refused" in result.error and result.acked_seq == 2 and _pending(kit.engine) == []
    with db.session_scope(kit.engine) as session:
        assert session.get(CollectorIdentity, 1).assignment_version == 1


def test_run_goes_on_after_a_failing_cycle(setup, monkeypatch):
    import time

    kit, hub = setup
    hub.assignment = hub.hub.assignment(kit, credentials=[])
    runner = runtime.Collector(kit.engine, kit.settings, runtime.RunOptions(interval_minutes=0.005, discover_every=0))
    cycles = []

    def cycle():
        cycles.append(time.monotonic())
        if len(cycles) == 1:
            raise RuntimeError("a bug in one run")
        _fill(kit.engine, 1)
        runner.upload(with_hello=len(cycles) == 2)
        if len(cycles) == 3:
            runner.stop()

    monkeypatch.setattr(runner, "cycle", cycle)
    thread = threading.Thread(target=runner.run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive() and len(cycles) == 3
    assert sorted(hub.stored) == [1, 2] and _pending(kit.engine) == []


def _self_signed(directory) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key (PEM files): the hub's, and the CA a collector is given."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kiemke test hub")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = directory / "hub.pem", directory / "hub.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def test_https_with_the_hubs_ca_file_and_not_without(engine, db_url, tmp_path):
    import ssl

    kit = make_collector(engine, db_url, tmp_path / "collector", hub_url="https://127.0.0.1:1")
    cert, key = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    hub = StandInHub(kit, FakeHub(), tls=tls)
    try:
        with db.session_scope(engine) as session:
            session.get(CollectorIdentity, 1).hub_url = hub.url
        _fill(engine, 2)
        refused = client.sync(engine, kit.settings, client.HubClient(hub.url, timeout=5))  # the system's CAs do not know it
        assert "CERTIFICATE_VERIFY_FAILED" in refused.error and _pending(engine) == [1, 2]
        done = client.sync(engine, kit.settings, client.HubClient(hub.url, ca_file=cert, timeout=5))
        assert done.error is None and done.acked_seq == 2 and _pending(engine) == []
    finally:
        hub.close()
