"""Per-layer spectral analysis of whole models.

* :func:`analyze` - a model or checkpoint -> a pandas DataFrame, one row per layer
  (ESD, MP / HTMP / WeightWatcher-compatible power-law fits, phase, status).
* :func:`summarize` - the model summary of that table (:class:`ModelSummary`).

pandas is imported when :func:`analyze` runs (``pip install pandas``).
"""
from ._layer import COLUMNS, FITS
from ._pipeline import analyze
from ._summary import ModelSummary, summarize

__all__ = ["analyze", "summarize", "ModelSummary", "COLUMNS", "FITS"]
