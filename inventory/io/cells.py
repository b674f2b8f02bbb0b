"""The one cleaning every cell kiemke writes to a CSV or XLSX file goes through.

- Control characters (C0 except tab, newline and carriage return; DEL; C1) and the characters XML
  cannot hold become U+FFFD (inventory.text.clean_text, the rule imports and collectors use too):
  openpyxl refuses them (IllegalCharacterError) and a terminal would run an escape sequence such
  as "\\x1b[31m".
- Text that a spreadsheet program would run as a formula (it starts with = + - @, tab or CR) is
  written as text: CSV puts an apostrophe before it (read_table takes it off again); XLSX keeps
  the text unchanged in a string cell (never a formula cell).
- Numbers, dates and other non-text values are left as they are.
"""

from __future__ import annotations

from typing import Any

from inventory.text import clean_text

# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def clean_cell(value: Any, *, quote: bool = False) -> Any:
    """`value` as written to a cell: control characters replaced; with `quote` (CSV), an
    apostrophe before formula-like text. Anything but text is returned unchanged.

    >>> clean_cell("sw\\x07-01\\x1b[31m"), clean_cell("=1+1", quote=True), clean_cell(-5, quote=True)
    ('sw\ufffd-01\ufffd[31m', "'=1+1", -5)
    """
    if not isinstance(value, str):
        return value
    text = clean_text(value)
    return "'" + text if quote and text.startswith(FORMULA_START) else text


def set_xlsx_value(cell: Any, value: Any) -> Any:
    """Put `value` into an openpyxl cell (normal or write-only), cleaned; text always as text."""
    value = clean_cell(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # text, never a formula
    return cell
