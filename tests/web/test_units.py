"""Pure pieces: the login throttle and config masking."""

from __future__ import annotations

from inventory.redact import mask_config, masked_diff
from web.throttle import LoginThrottle


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_throttle_window():
    clock = Clock()
    throttle = LoginThrottle(max_failures=5, window_seconds=900, clock=clock)
    key = ("lan", "10.0.0.1")
    for _ in range(4):
        throttle.fail(key)
        clock.now += 10
    assert throttle.retry_after(key) == 0
    throttle.fail(key)
    assert 0 < throttle.retry_after(key) <= 900
    clock.now += 900 - 40 + 1  # the first failure leaves the window
    assert throttle.retry_after(key) == 0
    throttle.reset(key)
    assert throttle.retry_after(key) == 0


def test_mask_ios_and_fortios_secrets():
    text = "\n".join(
        [
            "enable secret 9 $9$abcdef",
            "username admin privilege 15 password 0 plain-pass",
            "snmp-server community hidden-one RO",
            "snmp-server community public RO",
            "snmp-server user u g v3 auth sha AUTHKEY priv aes 128 PRIVKEY",
            "config system snmp community",
            "    edit 1",
            '        set name "forti-comm"',
            "    next",
            "end",
            "config system admin",
            "    edit admin",
            "        set password ENC SH2abc",
            "    next",
            "end",
            "hostname keep-me",
        ]
    )
    masked = mask_config(text)
    for secret in ("$9$abcdef", "plain-pass", "hidden-one", "AUTHKEY", "PRIVKEY", "forti-comm", "SH2abc"):
        assert secret not in masked, secret
    assert "snmp-server community public RO" in masked and "hostname keep-me" in masked
    assert len(masked.splitlines()) == len(text.splitlines())


def test_masked_diff_shows_changes_not_secrets():
    diff = masked_diff("enable password 7 AAAA\nline vty 0 4\n", "enable password 7 BBBB\nline vty 0 15\n", "old", "new")
    assert "AAAA" not in diff and "BBBB" not in diff
    assert "+line vty 0 15" in diff
