"""What the commands write: stdout that fails cleanly, errors that name the problem, strict JSON.

* :func:`out` writes one result to stdout.  A write that fails (a full disk:
  ``OSError(ENOSPC)``, a closed pipe) ends the command with one line on stderr and exit
  code 2, not a traceback; a closed pipe (``htmp ... | head``) ends it quietly.  Text that
  the stream's encoding cannot hold is written with backslash escapes.
* :func:`fail` prints ``error: ...`` on stderr (control characters escaped: messages may
  quote weight names) and exits with code 2.
* :func:`flagged` rewrites the library's keyword names in an error (``max_evals must be
  ...``) as the command's flags (``--max-evals must be ...``): one map per command.
* :func:`dumps` is ``json.dumps`` for strict JSON: NaN, +inf and -inf become ``null``
  (JSON has no such numbers; a bare ``NaN`` breaks strict parsers).  Results keep the
  reason in their status fields (e.g. kappa = inf is ``htmp_status`` "mp-like").
"""
from __future__ import annotations

import errno
import json
import math
import os
import re
import sys

import typer

from ..report import printable

__all__ = ["out", "fail", "dumps", "finite_or_none", "flagged"]


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


def flagged(message: str, flags: dict) -> str:
    """``message`` with each library keyword in ``flags`` (``{"max_evals": "--max-evals"}``)
    written as its flag where the message names the argument: ``max_evals must``,
    ``min_evals=8`` (-> ``--min-evals 8``), ``requires k=`` and ``['block_size']``.

    Only those forms are rewritten, so a weight name or a path quoted in the message that
    happens to contain the word is left alone.
    """
    if not flags:
        return message
    names = "|".join(re.escape(k) for k in sorted(flags, key=len, reverse=True))
    message = re.sub(rf"(?<![\w.-])({names})(?= must\b)", lambda m: flags[m[1]], message)
    message = re.sub(rf"(?<![\w.-])({names})=(\S?)",
                     lambda m: flags[m[1]] + (" " + m[2] if m[2] and m[2] not in ")," else m[2]),
                     message)
    return re.sub(rf"'({names})'", lambda m: flags[m[1]], message)
