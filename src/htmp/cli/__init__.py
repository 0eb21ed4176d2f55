"""The ``htmp`` command line: a thin typed layer over the library (typer).

Each subcommand lives in its own module in this package and registers itself on ``app``;
the modules are imported in :mod:`htmp.cli.app`.
"""
from .app import app, main

__all__ = ["app", "main"]
