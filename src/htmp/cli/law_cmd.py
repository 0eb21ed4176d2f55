"""``htmp law``: evaluate a law at points from the command line."""
from __future__ import annotations

from enum import Enum
from typing import List

import typer

from ._io import dumps, fail, out
from .app import app


class LawName(str, Enum):
    htmp = "htmp"
    inverse_htmp = "inverse-htmp"
    mp = "mp"


@app.command("law")
def law_command(
    name: LawName = typer.Argument(..., help="Which law."),
    x: List[float] = typer.Argument(..., help="Points at which to evaluate."),
    gamma: float = typer.Option(..., help="Aspect ratio N/M in (0, 1)."),
    kappa: float = typer.Option(None, help="Repulsion kappa > 0 (HTMP laws only)."),
    scale: float = typer.Option(1.0, help="Scale sigma^2 > 0."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table "
                                                       "(NaN and +-inf written as null)."),
) -> None:
    """Print pdf, cdf and sf of a law at the given points."""
    from .. import HTMP, InverseHTMP, MarchenkoPastur

    try:
        if name is LawName.mp:
            law = MarchenkoPastur(gamma=gamma, scale=scale)
        else:
            if kappa is None:
                raise ValueError("kappa is required for the HTMP laws (--kappa > 0)")
            cls = HTMP if name is LawName.htmp else InverseHTMP
            law = cls(gamma=gamma, kappa=kappa, scale=scale)
    except ValueError as err:
        fail(str(err))
    rows = [{"x": xi, "pdf": float(law.pdf(xi)), "cdf": float(law.cdf(xi)), "sf": float(law.sf(xi))}
            for xi in x]
    if as_json:
        out(dumps({"law": repr(law), "values": rows}))
        return
    lines = [repr(law), f"{'x':>14} {'pdf':>22} {'cdf':>22} {'sf':>22}"]
    lines += [f"{r['x']:>14.6g} {r['pdf']:>22.16g} {r['cdf']:>22.16g} {r['sf']:>22.16g}"
              for r in rows]
    out("\n".join(lines))
