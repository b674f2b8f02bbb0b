"""The one rule for control characters in text kiemke takes in or shows.

Control characters (C0 except tab, newline and carriage return; DEL; C1), lone surrogates and
the non-characters U+FFFE/U+FFFF never belong in a name, a model or a note: a terminal runs
them as escape sequences ("\\x1b]0;title\\x07", "\\x1b[2J") and XML cannot hold them.

- `clean_text`: on arrival (device facts, imported cells) and in exported cells, each becomes U+FFFD.
- `escape_control`: on a terminal, each is shown as a visible escape ("\\x1b"), so a value stored
  before cleaning existed still cannot drive the operator's terminal. Carriage return is escaped
  too there: it would overwrite the line.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_TERMINAL_CONTROL = re.compile(CONTROL.pattern + "|\r")  # the same rule, plus carriage return


def clean_text(value: str) -> str:
    """`value` with every control character replaced by U+FFFD.

    >>> clean_text("sw\\x1b[31m1\\x07")
    'sw\ufffd[31m1\ufffd'
    """
    return CONTROL.sub(REPLACEMENT, value)


def fit_column(value: str | None, limit: int) -> str | None:
    """Column-sized, clean text: hostile devices and agents send 64 KB strings where 255
    characters fit, and escape sequences ("\\x1b]0;title\\x07") that would run on an operator's
    terminal. A longer value is cut and ends in "…".

    >>> fit_column("sw\\x071-core", 5), fit_column(None, 5)
    ('sw\ufffd1…', None)
    """
    if value is None:
        return None
    value = clean_text(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_control(value: str) -> str:
    """`value` as a terminal shows it: control characters (and CR) as visible escapes.

    >>> escape_control("sw\\x1b]0;pwned\\x07\\r\\x9b")
    'sw\\\\x1b]0;pwned\\\\x07\\\\x0d\\\\x9b'
    """
    return _TERMINAL_CONTROL.sub(_escape, value)
