"""Text that is safe to print, to put in a CSV cell and to encode, whatever a name holds.

Weight names come from the model file: any Unicode string, lone surrogates included (a
JSON header may hold ``"\\ud800"``).  Before a name (or a message quoting one) reaches a
terminal, a markdown table, a CSV file or an HTML page:

* :func:`printable` writes control characters, invisible format characters (bidi
  overrides, zero-width marks), line/paragraph separators and lone surrogates as Python
  escapes (``\\x1b``, ``\\n``, ``\\u202e``, ``\\ud800``): visible, inert on a terminal, and
  encodable as UTF-8.  Other text is unchanged.
* :func:`csv_text` also neutralises spreadsheet formulas: a cell starting with
  ``= + - @``, tab or carriage return gets a leading ``'`` (OWASP's advice), so a
  spreadsheet shows the text instead of evaluating it.  Only text cells go through it:
  numeric columns stay numbers (``-2.5`` is a number, never ``'-2.5``).

The JSON output keeps names exact (``json.dumps`` escapes every control character and
surrogate); the table, markdown, CSV and HTML show the escaped form.
"""
from __future__ import annotations

import unicodedata

__all__ = ["printable", "csv_text", "csv_frame", "FORMULA_START"]

#: first characters that make a spreadsheet read a cell as a formula (or a DDE command)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# control, format (bidi overrides, zero-width), surrogate, line and paragraph separators
_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _escape(ch: str) -> str:
    if unicodedata.category(ch) not in _ESCAPED:
        return ch
    return ch.encode("unicode_escape").decode("ascii")      # \x1b, \n, \u202e, \ud800


def printable(text) -> str:
    """``str(text)`` with control/format characters and lone surrogates written as escapes."""
    s = str(text)
    if s.isprintable():                  # the common case: nothing to escape
        return s
    return "".join(_escape(ch) for ch in s)


def csv_text(text) -> str:
    """A CSV text cell: :func:`printable`, with ``'`` put before a formula-looking start."""
    s = str(text)
    out = printable(s)
    return "'" + out if s.startswith(FORMULA_START) else out


def csv_frame(df):
    """Copy of ``df`` with every text cell through :func:`csv_text` (numbers untouched)."""
    from pandas.api.types import is_numeric_dtype

    out = df.copy()
    for col in out.columns:
        if not is_numeric_dtype(out[col].dtype):          # text (object or string dtype)
            out[col] = [csv_text(v) if isinstance(v, str) else v for v in out[col]]
    return out
