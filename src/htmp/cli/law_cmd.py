"""``htmp law``: evaluate a law at points from the command line."""
from __future__ import annotations

import json
from enum import Enum
from typing import List

import typer

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
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
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
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None
    rows = [{"x": xi, "pdf": float(law.pdf(xi)), "cdf": float(law.cdf(xi)), "sf": float(law.sf(xi))}
            for xi in x]
    if as_json:
        typer.echo(json.dumps({"law": repr(law), "values": rows}))
        return
    typer.echo(repr(law))
    typer.echo(f"{'x':>14} {'pdf':>22} {'cdf':>22} {'sf':>22}")
    for r in rows:
        typer.echo(f"{r['x']:>14.6g} {r['pdf']:>22.16g} {r['cdf']:>22.16g} {r['sf']:>22.16g}")
