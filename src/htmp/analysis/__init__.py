"""Per-layer spectral analysis of whole models.

* :func:`analyze` - a model or checkpoint -> a pandas DataFrame, one row per layer
  (ESD, MP / HTMP / WeightWatcher-compatible power-law fits, phase, status).
* :func:`run` - the same table plus each layer's eigenvalues and the summary, as an
  :class:`Analysis` (what :func:`htmp.report.write_report` draws).
* several checkpoints (a list, or a run folder of ``checkpoint-<step>`` sub-folders): one
  long table with a ``model`` column; :func:`run` gives a :class:`RunAnalysis`.
* :func:`summarize` - the model summary of that table (:class:`ModelSummary`).

pandas is imported when :func:`analyze` runs (``pip install pandas``).
"""
from ._device import DEVICES
from ._layer import COLUMNS, FITS, TRAP_COLUMNS
from ._pipeline import analyze
from ._checkpoints import RunAnalysis
from ._run import Analysis, run
from ._summary import ModelSummary, summarize

__all__ = ["analyze", "run", "Analysis", "RunAnalysis", "summarize", "ModelSummary", "COLUMNS", "FITS",
           "DEVICES", "TRAP_COLUMNS"]
