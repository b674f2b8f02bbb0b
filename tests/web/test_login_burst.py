"""The login throttle counts atomically: a burst of simultaneous wrong passwords for one user,
against the real app under waitress (as `kiemke serve` runs it), checks exactly the configured
number of passwords; the rest are refused before any password hash runs."""

from __future__ import annotations

import http.cookiejar
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
import waitress

from inventory import signin
from tests.web.conftest import _TOKEN, PASSWORD
from web.throttle import LoginThrottle

pytestmark = pytest.mark.db

BURST = 20


@pytest.fixture
def live(app, seed):
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=BURST + 4, ident="kiemke-test")
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


@pytest.fixture
def verifications(monkeypatch):
    """How many password hashes the sign-in actually checked (the real check, counted)."""
    calls = []
    lock = threading.Lock()
    real = signin.verify_password

    def counted(user, password):
        with lock:
            calls.append(password)
        return real(user, password)

    monkeypatch.setattr(signin, "verify_password", counted)
    return calls


class Browser:
    """One client: its own cookie jar and the login form's CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with self.opener.open(base + "/login", timeout=30) as response:
            match = _TOKEN.search(response.read().decode())
        self.token = match.group(1) or match.group(2)

    def login(self, username: str, password: str) -> tuple[int, str]:
        body = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": self.token}).encode()
        try:
            with self.opener.open(self.base + "/login", data=body, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def test_a_burst_of_wrong_passwords_checks_only_the_maximum(app, seed, live, verifications):
    limit = app.config["LOGIN_MAX_FAILURES"]
    username = seed.users["security_officer"]
    browsers = [Browser(live) for _ in range(BURST)]
    start = threading.Barrier(BURST)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def guess(browser: Browser, n: int) -> None:
        start.wait()
        answer = browser.login(username, f"sai-mat-khau-{n}")
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=guess, args=(b, n)) for n, b in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(status for status, _body in answers)
    assert len(verifications) == limit, statuses
    assert statuses == [401] * limit + [429] * (BURST - limit)
    assert all("Đăng nhập sai quá nhiều lần" in body for status, body in answers if status == 429)
    # Even the right password is refused now, without a password check.
    status, _body = Browser(live).login(username, PASSWORD)
    assert status == 429 and len(verifications) == limit


def test_throttle_reserves_attempts_under_one_lock():
    throttle = LoginThrottle(max_failures=5, window_seconds=900)
    key = ("lan", "10.0.0.1")
    start = threading.Barrier(20)
    attempts = []
    lock = threading.Lock()

    def reserve() -> None:
        start.wait()
        attempt = throttle.acquire(key)
        with lock:
            attempts.append(attempt)

    threads = [threading.Thread(target=reserve) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    allowed = [a for a in attempts if a.allowed]
    refused = [a for a in attempts if not a.allowed]
    # Five reservations in flight already fill the limit; the others learn how long to wait.
    assert len(allowed) == 5 and len(refused) == 15
    assert all(0 < a.retry_after <= 900 for a in refused)
    for attempt in allowed:
        attempt.failed()
    assert 0 < throttle.retry_after(key) <= 900
    assert not throttle.acquire(key).allowed


def test_settled_reservations_free_their_place():
    throttle = LoginThrottle(max_failures=2, window_seconds=900)
    key = ("lan", "10.0.0.1")
    first, second = throttle.acquire(key), throttle.acquire(key)
    assert first.allowed and second.allowed and not throttle.acquire(key).allowed
    first.release()  # neither a failure nor a success: the place is free again
    third = throttle.acquire(key)
    assert third.allowed
    second.failed()
    third.succeeded()  # the right password forgets the failures
    assert throttle.retry_after(key) == 0
    # An attempt left unsettled by an error counts as a failure (fail closed).
    with pytest.raises(RuntimeError), throttle.acquire(key):
        raise RuntimeError("database gone")
    with throttle.acquire(key):
        pass
    assert not throttle.acquire(key).allowed
    # Settling twice counts once.
    other = ("lan", "10.0.0.2")
    attempt = throttle.acquire(other)
    attempt.failed()
    attempt.failed()
    assert throttle.acquire(other).allowed
