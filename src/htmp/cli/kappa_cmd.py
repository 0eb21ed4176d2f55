"""``htmp kappa``: variational repulsion kappa of a matrix structure (Algorithm 1)."""
from __future__ import annotations

import json
from enum import Enum
from typing import List, Optional

import typer

from .app import app


class StructureName(str, Enum):
    diagonal = "diagonal"
    commuting_block_diagonal = "commuting_block_diagonal"
    block_diagonal = "block_diagonal"
    kronecker = "kronecker"
    symmetric = "symmetric"
    free_eigenvectors = "free_eigenvectors"


@app.command("kappa")
def kappa_command(
    structure: StructureName = typer.Argument(..., help="Matrix structure (paper App. F)."),
    n: int = typer.Option(64, "--n", help="Matrix size N >= 2."),
    block_size: Optional[int] = typer.Option(None, help="Block size d (block classes; d divides N)."),
    factor_sizes: Optional[List[int]] = typer.Option(
        None, help="Kronecker factor sizes: --factor-sizes M --factor-sizes D (M*D = N), or M,D."),
    k: Optional[int] = typer.Option(None, "--k", help="Number of free eigenvectors, 1..N."),
    alpha_l: float = typer.Option(1.0, help="Laguerre shape alpha_L > -1."),
    samples: int = typer.Option(400, help="Spectra per iteration."),
    iterations: int = typer.Option(30, help="Fixed-point iterations."),
    seed: Optional[int] = typer.Option(None, help="Random seed (default: fresh entropy)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Estimate kappa* = F(kappa*) with its standard error; print the closed form where it exists."""
    from ..repulsion import estimate_kappa

    params = {"block_size": block_size, "k": k}
    if factor_sizes:
        params["factor_sizes"] = tuple(factor_sizes)
    try:
        res = estimate_kappa(structure.value, n=n, rng=seed, alpha_l=alpha_l, n_samples=samples,
                             n_iter=iterations, **params)
    except (ValueError, TypeError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None
    if as_json:
        typer.echo(json.dumps(res.to_dict()))
        return
    desc = ", ".join(f"{key}={val}" for key, val in res.params.items())
    typer.echo(f"{res.structure}(n={res.n}{', ' + desc if desc else ''}), alpha_L={res.alpha_l:g}")
    typer.echo(f"kappa = {res.kappa:.6g} +/- {res.stderr:.2g} (1 s.e.; {res.n_iter} iterations x "
               f"{res.n_samples} samples, converged={res.converged})")
    if res.kappa_closed is not None:
        typer.echo(f"closed form (Prop G.1/Thm G.3) = {res.kappa_closed:.6g}")
    else:
        typer.echo(f"no closed form; count heuristic 2|P|/(N-1) = {res.kappa_count:.6g}")
