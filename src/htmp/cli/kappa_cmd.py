"""``htmp kappa``: variational repulsion kappa of a matrix structure (Algorithm 1)."""
from __future__ import annotations

from enum import Enum
from typing import List, Optional

import typer

from ..repulsion.fixed_point import (
    MAX_ITER,
    MAX_N,
    MAX_SAMPLES,
    N_LABELLINGS,
    check_work,
)
from ..repulsion.structures import LABEL_INVARIANT
from ._io import dumps, fail, flagged, out
from .app import app


class StructureName(str, Enum):
    diagonal = "diagonal"
    commuting_block_diagonal = "commuting_block_diagonal"
    block_diagonal = "block_diagonal"
    kronecker = "kronecker"
    symmetric = "symmetric"
    free_eigenvectors = "free_eigenvectors"


# library keyword -> flag, for the errors estimate_kappa raises
_FLAGS = {"block_size": "--block-size", "factor_sizes": "--factor-sizes", "k": "--k",
          "alpha_l": "--alpha-l", "n_samples": "--samples", "n_iter": "--iterations"}


def parse_factor_sizes(values: List[str], n: int) -> tuple:
    """``["8,8"]`` or ``["8", "8"]`` -> ``(8, 8)``; anything else ends with an error naming
    ``--factor-sizes``."""
    words = [w.strip() for v in values for w in v.split(",")]
    try:
        sizes = tuple(int(w) for w in words)
    except ValueError:
        sizes = ()
    if len(sizes) != 2 or min(sizes) < 1 or sizes[0] * sizes[1] != n:
        fail(f"--factor-sizes must be two positive integers M,D with M*D = --n ({n}), "
             f"e.g. --factor-sizes 8,8 for --n 64, got {','.join(words)}")
    return sizes


@app.command("kappa")
def kappa_command(
    structure: StructureName = typer.Argument(..., help="Matrix structure (paper App. F)."),
    n: int = typer.Option(64, "--n", help=f"Matrix size N, 2..{MAX_N}."),
    block_size: Optional[int] = typer.Option(None, help="Block size d (block classes; d divides N)."),
    factor_sizes: Optional[List[str]] = typer.Option(
        None, help="Kronecker factor sizes M,D with M*D = N (--factor-sizes 8,8), or the "
                   "option twice: --factor-sizes 8 --factor-sizes 8."),
    k: Optional[int] = typer.Option(None, "--k", help="Number of free eigenvectors, 1..N."),
    alpha_l: float = typer.Option(1.0, help="Laguerre shape alpha_L > -1."),
    samples: int = typer.Option(400, help=f"Spectra per iteration, 3..{MAX_SAMPLES}."),
    iterations: int = typer.Option(30, help=f"Fixed-point iterations, 2..{MAX_ITER}."),
    seed: Optional[int] = typer.Option(None, help="Random seed (default: fresh entropy)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text "
                                                       "(NaN and +-inf written as null)."),
) -> None:
    """Estimate kappa* = F(kappa*) with its standard error; print the closed form where it exists.

    The work is bounded before anything runs: the ranges of --n, --samples
    and --iterations below, N x samples x labellings <= 2^25 values (memory;
    32 labellings, 1 for diagonal and symmetric) and N(N-1)/2 x samples x
    iterations <= 1e11 pair terms (time).
    """
    from ..repulsion import estimate_kappa

    for option, value, low, high in (("--n", n, 2, MAX_N),
                                     ("--samples", samples, 3, MAX_SAMPLES),
                                     ("--iterations", iterations, 2, MAX_ITER)):
        if not low <= value <= high:
            fail(f"{option} must be an integer in [{low}, {high}], got {value}")
    labellings = 1 if structure.value in LABEL_INVARIANT else N_LABELLINGS
    try:
        check_work(n, samples, iterations, labellings)
    except ValueError as err:
        fail(f"--n {n}, --samples {samples} and --iterations {iterations} are too much work "
             f"together (lower one of them): {err}")

    params = {"block_size": block_size, "k": k}
    if factor_sizes:
        params["factor_sizes"] = parse_factor_sizes(factor_sizes, n)
    try:
        res = estimate_kappa(structure.value, n=n, rng=seed, alpha_l=alpha_l, n_samples=samples,
                             n_iter=iterations, **params)
    except (ValueError, TypeError) as err:
        fail(flagged(str(err), _FLAGS))
    if as_json:
        out(dumps(res.to_dict()))
        return
    desc = ", ".join(f"{key}={val}" for key, val in res.params.items())
    lines = [f"{res.structure}(n={res.n}{', ' + desc if desc else ''}), alpha_L={res.alpha_l:g}",
             f"kappa = {res.kappa:.6g} +/- {res.kappa_se:.2g} (1 s.e.; {res.n_iter} iterations x "
             f"{res.n_samples} samples, converged={res.converged})"]
    if res.kappa_closed is not None:
        lines.append(f"closed form (Prop G.1/Thm G.3) = {res.kappa_closed:.6g}")
    else:
        lines.append(f"no closed form; count heuristic 2|P|/(N-1) = {res.kappa_count:.6g}")
    out("\n".join(lines))
