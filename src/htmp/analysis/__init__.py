"""Per-layer spectral analysis of whole models.

* :func:`analyze` - a model or checkpoint -> a pandas DataFrame, one row per layer
  (ESD, MP / HTMP / WeightWatcher-compatible power-law fits, phase, status).
* :func:`run` - the same table plus each layer's eigenvalues and the summary, as an
  :class:`Analysis` (what :func:`htmp.report.write_report` draws).
* several checkpoints (a list, or a run folder of ``checkpoint-<step>`` sub-folders): one
  long table with a ``model`` column; :func:`run` gives a :class:`RunAnalysis`.
* :func:`summarize` - the model summary of that table (:class:`ModelSummary`).
* the wording the table, the report and the CLI share: :func:`kappa_text` (κ as a value,
  "MP-like (>= lo)" or "<= hi"), :func:`weak_reasons` (why a verdict is weak),
  :func:`cell_float` (a table cell as a float, NaN when empty); :func:`checkpoint_sources`
  (the checkpoints a source stands for) and :func:`dask_client` (a client for the CLI's
  Dask options).

pandas is imported when :func:`analyze` runs (``pip install pandas``).
"""
from ._checkpoints import RunAnalysis, checkpoint_sources
from ._dask import dask_client
from ._device import DEVICES, check_device
from ._format import kappa_text, weak_reasons
from ._format import num as cell_float
from ._layer import COLUMNS, FITS, TRAP_COLUMNS
from ._pipeline import analyze
from ._run import Analysis, run
from ._summary import ModelSummary, summarize

__all__ = ["analyze", "run", "Analysis", "RunAnalysis", "summarize", "ModelSummary", "COLUMNS", "FITS",
           "DEVICES", "TRAP_COLUMNS", "checkpoint_sources", "dask_client", "kappa_text",
           "weak_reasons", "cell_float", "check_device"]
