"""Self-contained HTML reports of :func:`htmp.analysis.run` results.

* :func:`write_report` - one or several analyses -> ``out_dir/index.html`` (inline CSS,
  figures as base64 PNG data URIs, no JavaScript; opens offline).
* :mod:`htmp.report.figures` - the figures (``ax=`` in, ``ax`` out), matplotlib object API.

Needs matplotlib (``pip install htmp[plot]``); ``import htmp`` does not import this package.
"""
from .html import write_report

__all__ = ["write_report"]
