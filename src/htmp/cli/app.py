"""Root typer application; subcommand modules are imported at the bottom."""
from __future__ import annotations

import typer

app = typer.Typer(
    name="htmp",
    help="Heavy-tailed random-matrix spectra: HTMP laws, ensembles, fits and model analysis.",
    no_args_is_help=True,
    add_completion=False,
)


def package_version() -> str:
    """The installed distribution's version, else ``htmp.__version__`` (a source checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("htmp")
    except PackageNotFoundError:
        from .. import __version__
        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"htmp {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the htmp version and exit."),
) -> None:
    """Heavy-tailed random-matrix spectra: HTMP laws, ensembles, fits and model analysis."""


def main() -> None:  # console-script entry point
    app()


# Subcommands (each module defines its command on `app`).
from . import (
    analyze_cmd,  # noqa: E402,F401
    fit_cmd,  # noqa: E402,F401
    kappa_cmd,  # noqa: E402,F401
    law_cmd,  # noqa: E402,F401
)
