"""What the commands write: stdout that fails cleanly, errors that name the problem, strict JSON.

* :func:`out` writes one result to stdout.  A write that fails (a full disk:
  ``OSError(ENOSPC)``, a closed pipe) ends the command with one line on stderr and exit
  code 2, not a traceback; a closed pipe (``htmp ... | head``) ends it quietly.  Text that
  the stream's encoding cannot hold is written with backslash escapes.
* :func:`fail` prints ``error: ...`` on stderr (control characters escaped: messages may
  quote weight names) and exits with code 2.
* :func:`dumps` is ``json.dumps`` for strict JSON: NaN, +inf and -inf become ``null``
  (JSON has no such numbers; a bare ``NaN`` breaks strict parsers).  Results keep the
  reason in their status fields (e.g. kappa = inf is ``htmp_status`` "mp-like").
"""
from __future__ import annotations

import errno
import json
import math
import os
import sys

import typer

from ..report._safe import printable

__all__ = ["out", "fail", "dumps", "finite_or_none"]


def finite_or_none(obj):
    """``obj`` with every non-finite float (in dicts, lists and tuples) replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    return obj


def dumps(obj) -> str:
    """Strict JSON text of ``obj`` (non-finite floats as null; never a bare NaN)."""
    return json.dumps(finite_or_none(obj), allow_nan=False)


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so Python's final flush of stdout cannot fail again."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (e.g. a test runner)
        pass


def out(text: str = "", *, nl: bool = True) -> None:
    """Write ``text`` to stdout; a failed write exits 2 with one line on stderr."""
    try:
        try:
            typer.echo(text, nl=nl)
        except UnicodeEncodeError:
            enc = getattr(sys.stdout, "encoding", None) or "utf-8"
            typer.echo(text.encode(enc, "backslashreplace").decode(enc), nl=nl)
        sys.stdout.flush()
    except OSError as err:
        _silence_stdout()
        if err.errno == errno.EPIPE:                # the reader went away: nothing to report
            raise typer.Exit(code=2) from None
        fail(f"could not write the output to stdout: {err.strerror or err} "
             f"(errno {err.errno})")


def fail(message: str, *, code: int = 2) -> None:
    """``error: message`` on stderr, then exit with ``code``."""
    try:
        typer.echo(f"error: {printable(message)}", err=True)
    except OSError:                                 # stderr itself is gone: just exit
        pass
    raise typer.Exit(code=code)
