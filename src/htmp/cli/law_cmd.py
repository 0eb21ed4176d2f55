"""``htmp law``: evaluate a law at points from the command line."""
from __future__ import annotations

from enum import Enum
from typing import List

import typer

from ._io import dumps, fail, flagged, out
from .app import app


class LawName(str, Enum):
    htmp = "htmp"
    inverse_htmp = "inverse-htmp"
    mp = "mp"


@app.command("law")
def law_command(
    name: LawName = typer.Argument(..., help="Which law."),
    x: List[float] = typer.Argument(..., help="Points at which to evaluate. A negative point "
                                              "reads as an option: put -- before the points "
                                              "(htmp law mp --gamma 0.5 -- -1 0.5)."),
    gamma: float = typer.Option(..., help="Aspect ratio N/M in (0, 1)."),
    kappa: float = typer.Option(None, help="Repulsion kappa > 0 (HTMP laws only)."),
    scale: float = typer.Option(1.0, help="Scale sigma^2 > 0."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table "
                                                       "(NaN and +-inf written as null)."),
) -> None:
    """Print pdf, cdf and sf of a law at the given points.

    Options go before the points; after -- every word is a point, so negative points
    work: htmp law htmp --gamma 0.5 --kappa 2 -- -1 0.5 3.
    """
    from .. import HTMP, InverseHTMP, MarchenkoPastur

    if name is LawName.mp and kappa is not None:
        fail(f"--kappa is for the HTMP laws (htmp, inverse-htmp) only; Marchenko-Pastur is "
             f"the kappa = inf limit and takes --gamma and --scale, got --kappa {kappa:g}")
    try:
        if name is LawName.mp:
            law = MarchenkoPastur(gamma=gamma, scale=scale)
        else:
            if kappa is None:
                fail(f"--kappa is required for the {name.value} law (a number > 0)")
            cls = HTMP if name is LawName.htmp else InverseHTMP
            law = cls(gamma=gamma, kappa=kappa, scale=scale)
    except (ValueError, TypeError) as err:
        fail(flagged(str(err), {"gamma": "--gamma", "kappa": "--kappa", "scale": "--scale"}))
    rows = [{"x": xi, "pdf": float(law.pdf(xi)), "cdf": float(law.cdf(xi)), "sf": float(law.sf(xi))}
            for xi in x]
    if as_json:
        out(dumps({"law": repr(law), "values": rows}))
        return
    lines = [repr(law), f"{'x':>14} {'pdf':>22} {'cdf':>22} {'sf':>22}"]
    lines += [f"{r['x']:>14.6g} {r['pdf']:>22.16g} {r['cdf']:>22.16g} {r['sf']:>22.16g}"
              for r in rows]
    out("\n".join(lines))
