"""Dask execution of an analysis: one task per layer on a ``distributed.Client``.

Workers read their own layer from the file: a task carries the layer's
:class:`~htmp.nn.WeightSpec`, whose ``load`` is a module-level reader bound to a path,
a byte offset, a shape and a dtype (``functools.partial``), never an array.  Sources held
in memory (torch modules, state dicts, arrays) and ``.pt``/``.bin`` checkpoints (torch
keeps their tensors in this process) are refused with a ``ValueError``.

Each task runs the serial per-layer code (``_pipeline._analyse``), so the table equals a
serial run's except ``seconds``; a task that dies (its worker lost, killed for memory,
``distributed.KilledWorker``) costs its row a "failed" status naming the exception,
never the run.  dask is imported only here, and only when used (``pip install 'htmp[dask]'``).
"""
from __future__ import annotations

import asyncio
import math
import socket
from contextlib import contextmanager
from dataclasses import replace

from ..nn import portable_spec
from ._layer import _blank

__all__ = ["check_client", "dask_client", "run_on_client", "wire_specs"]

_INSTALL = "pip install 'htmp[dask]'"
_RESUBMIT = 2       # extra runs of a task whose result the cluster lost (not KilledWorker)


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError(f"Dask is needed to run an analysis on a cluster: {_INSTALL}") \
            from None
    return distributed


def check_client(client, workers: int):
    """``client`` if it is a running ``distributed.Client``; ``workers`` must then be 1."""
    try:
        from distributed import Client
    except ImportError:
        raise TypeError(f"client must be a distributed.Client (Dask is not installed: "
                        f"{_INSTALL}), got {type(client).__name__}") from None
    if not isinstance(client, Client):
        raise TypeError(f"client must be a distributed.Client or None, got "
                        f"{type(client).__name__}")
    if client.status not in ("running", "connecting", "newly-created"):
        raise ValueError(f"client must be a running distributed.Client, got one whose "
                         f"status is {client.status!r}")
    if workers != 1:
        raise ValueError(f"workers must be 1 when client= is given (the Dask cluster's "
                         f"worker threads set the parallelism), got {workers}")
    return client


def _wire_spec(spec, source: str):
    """``spec`` with its reader bound to an absolute path (workers may run elsewhere)."""
    wired = portable_spec(spec)
    if wired is None:
        raise ValueError(
            f"client= needs a model read from files by path (.safetensors, .npy, .npz, a "
            f"sharded safetensors checkpoint or their folder), so that workers read their "
            f"own layer; got {source}, whose weight {spec.name!r} is held in this process "
            f"(a torch module, state dict, array, .pt/.bin checkpoint or adapter product): "
            f"save it as .safetensors, or analyse it without client=")
    return wired


def wire_specs(specs: list, source: str) -> list:
    """The specs as sent to the workers; ValueError when a weight would travel as an array."""
    return [_wire_spec(s, source) for s in specs]


def _task(spec, keep_spectra: bool, kw: dict):
    """Runs on a worker: the serial per-layer code; eigenvalues come back only if kept."""
    from ._pipeline import _analyse

    row, eigs = _analyse(spec, **kw)
    return row, (eigs if keep_spectra else None)


def _lost_row(spec, conv: str, err: BaseException) -> dict:
    """The row of a layer whose task died: "failed", naming what killed it."""
    from ._pipeline import _sane

    shape = tuple(spec.shape)
    row = _blank(spec if _sane(shape) else replace(spec, shape=(1, 1)), conv)
    if not _sane(shape):       # as _pipeline._unread_row: no row numbers from such a shape
        row.update(shape="x".join(map(str, shape)), N=math.nan, M=math.nan, gamma=math.nan,
                   n_evals=math.nan)
    text = str(err) or repr(err)
    row.update(status="failed", message=f"dask task failed: {type(err).__name__}: {text}")
    return row


def run_on_client(client, specs: list, kw: dict, *, keep_spectra: bool, progress=None) -> list:
    """Submit one task per spec; ``progress(done, total, name)`` as each completes.

    Returns the (row, eigenvalues or None) results in the order of ``specs``.
    """
    from distributed import as_completed

    def submit(i):
        return client.submit(_task, specs[i], keep_spectra, kw, pure=False, retries=0)

    futures = [submit(i) for i in range(len(specs))]
    index = {f.key: i for i, f in enumerate(futures)}
    attempts = [1] * len(specs)
    results = [None] * len(specs)
    suspects = []         # KilledWorker: the culprit, or a task that ran beside it
    done = 0

    def finish(i, result):
        nonlocal done
        results[i] = result
        done += 1
        if progress is not None:
            progress(done, len(specs), specs[i].name)

    def outcome(fut):
        row, eigs = fut.result()
        if eigs is not None:      # read-only, as a serial run's eigenvalues
            eigs.flags.writeable = False
        return row, eigs

    try:
        pending = as_completed(futures, loop=client.loop)
        for fut in pending:
            i = index[fut.key]
            try:
                finish(i, outcome(fut))
            except (Exception, asyncio.CancelledError) as err:  # noqa: BLE001 - one row
                if type(err).__name__ == "KilledWorker":
                    suspects.append(i)
                elif attempts[i] <= _RESUBMIT:      # a result lost with a worker: run again
                    attempts[i] += 1
                    again = submit(i)
                    futures.append(again)
                    index[again.key] = i
                    pending.add(again)
                else:
                    finish(i, (_lost_row(specs[i], kw["conv"], err), None))
        # Dask also blames a task that merely ran on a worker another task killed: each
        # suspect runs once more alone, and only a task that kills its workers then too
        # gets the failed row.
        for i in suspects:
            fut = submit(i)
            futures.append(fut)
            try:
                finish(i, outcome(fut))
            except (Exception, asyncio.CancelledError) as err:  # noqa: BLE001 - one row
                finish(i, (_lost_row(specs[i], kw["conv"], err), None))
    finally:
        client.cancel([f for f in futures if not f.done()])
        for f in futures:
            f.release()
    return results


def _check_reachable(address: str, timeout: float) -> None:
    """ValueError for an address Dask cannot parse, ConnectionError when nothing answers
    at host:port within ``timeout`` seconds (before a Client waits and retries)."""
    from distributed.comm import get_address_host_port

    try:
        host, port = get_address_host_port(address)
    except (ValueError, TypeError, NotImplementedError) as err:
        raise ValueError(f"scheduler must be a Dask scheduler address such as "
                         f"tcp://host:8786, got {address!r} ({err})") from None
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        raise ConnectionError(f"no Dask scheduler answers at {address} ({err.strerror or err})"
                              ) from None


@contextmanager
def dask_client(scheduler: str | None = None, n_workers: int | None = None, *,
                timeout: float = 5.0):
    """A ``distributed.Client`` connected to ``scheduler`` (checked within ``timeout``
    seconds, before any work), or to a LocalCluster of ``n_workers`` processes (one thread
    each) that is closed on exit.  Exactly one of the two must be given."""
    if (scheduler is None) == (n_workers is None):
        raise ValueError("give exactly one of scheduler (an address) or n_workers")
    distributed = _import_distributed()
    if scheduler is not None:
        _check_reachable(scheduler, timeout)
        try:
            client = distributed.Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
        except OSError as err:
            raise ConnectionError(f"could not connect to the Dask scheduler at {scheduler}: "
                                  f"{err}") from None
        with client:
            yield client
        return
    if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1:
        raise ValueError(f"n_workers must be an integer >= 1, got {n_workers!r}")
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                  dashboard_address="127.0.0.1:0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client
