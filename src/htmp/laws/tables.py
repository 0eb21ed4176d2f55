"""The Kummer-table engine behind the laws, for code that evaluates many (gamma, kappa) at
once (the likelihood fits of :mod:`htmp.fitting`).

* :func:`raw_params` - (alpha, c, s) of nu_{alpha,c} behind HTMP(gamma, kappa) (MATH.md §2.2);
* :func:`kummer_table` / :func:`bulk_table` - cached tables of nu_{alpha,c} (the full one, with
  tail precision; the partial one over the bulk, density and phase only);
* :func:`table_quantile` - quantiles from a table (lower or upper tail);
* the parameter limits ``KAPPA_MAX``, ``C_MAX``, ``ALPHA_MAX`` (docs/security.md).
"""
from ._kummer import ALPHA_MAX, C_MAX, KummerTable, bulk_table, kummer_table
from .htmp_law import KAPPA_MAX, raw_params
from .trinh_trinh import _invert as table_quantile

__all__ = ["ALPHA_MAX", "C_MAX", "KAPPA_MAX", "KummerTable", "bulk_table", "kummer_table",
           "raw_params", "table_quantile"]
