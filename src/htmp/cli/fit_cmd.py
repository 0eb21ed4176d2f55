"""``htmp fit``: fit a law to the spectrum stored in a ``.npy`` file."""
from __future__ import annotations

import warnings
from enum import Enum
from pathlib import Path

import numpy as np
import typer

from ..report import printable
from ._io import dumps, fail, flagged, out
from .app import app


class FitLaw(str, Enum):
    mp = "mp"
    htmp = "htmp"
    inverse_htmp = "inverse-htmp"
    invgamma = "invgamma"
    powerlaw = "powerlaw"


def run_fit(data, law: FitLaw, gamma: float | None):
    """The library call behind ``htmp fit`` (2-D data -> esd first)."""
    from .. import fitting

    arr = np.asarray(data)
    spec = fitting.esd(arr) if arr.ndim in (2, 4) else arr
    fn = {FitLaw.mp: fitting.fit_mp, FitLaw.htmp: fitting.fit_htmp,
          FitLaw.inverse_htmp: fitting.fit_inverse_htmp}.get(law)
    if fn is not None:
        return fn(spec, gamma=gamma)
    if law is FitLaw.invgamma:
        return fitting.fit_invgamma(spec)
    return fitting.fit_powerlaw(spec)


@app.command("fit")
def fit_command(
    file: Path = typer.Argument(..., help=".npy file: eigenvalues (1-D) or a matrix (2-D)."),
    law: FitLaw = typer.Option(FitLaw.htmp, "--law", help="Which law to fit."),
    gamma: float = typer.Option(None, help="Aspect ratio N/M (required for 1-D eigenvalues, "
                                           "except invgamma and powerlaw)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table "
                                                       "(NaN and +-inf written as null)."),
) -> None:
    """Fit a law to a spectrum and print the result."""
    try:
        data = np.load(file, allow_pickle=False)
        # numpy's overflow/underflow warnings inside a fit on extreme-scale data stay off
        # stderr: the result's status and message say what failed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = run_fit(data, law, gamma)
    except (ValueError, OSError) as err:
        fail(flagged(str(err), {"gamma": "--gamma"}))
    except ArithmeticError as err:          # e.g. a division by zero on denormal data
        fail(f"the {law.value} fit failed on this data: {type(err).__name__}: {err}")
    d = res.to_dict()
    if as_json:
        out(dumps(d))
        return
    lines = [f"{type(res).__name__} ({law.value})"]
    for k, v in d.items():
        if isinstance(v, list):
            v = f"[{len(v)} values]"
        lines.append(f"  {k:>14}: {printable(v)}")
    out("\n".join(lines))
