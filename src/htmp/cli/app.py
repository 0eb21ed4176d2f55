"""Root typer application; subcommand modules are imported at the bottom."""
from __future__ import annotations

import typer

app = typer.Typer(
    name="htmp",
    help="Heavy-tailed random-matrix spectra: HTMP laws, ensembles, fits and model analysis.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Heavy-tailed random-matrix spectra: HTMP laws, ensembles, fits and model analysis."""


def main() -> None:  # console-script entry point
    app()


# Subcommands (each module defines its command on `app`).
from . import law_cmd  # noqa: E402,F401
from . import kappa_cmd  # noqa: E402,F401
from . import fit_cmd  # noqa: E402,F401
from . import analyze_cmd  # noqa: E402,F401
