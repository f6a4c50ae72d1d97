"""Run independent Monte Carlo runs on a local process pool (default) or a Ray cluster.

Run i always draws from the i-th child of `SeedSequence(seed)`, whoever executes it, so
results are bit-identical for the same seed on one process, a pool or Ray.

Ctrl-C: workers ignore SIGINT, so only this process sees it; it cancels every run not started,
stops the workers (or cancels the Ray tasks) at once and lets the KeyboardInterrupt through.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import UserError

_PAYLOAD: Any = None


def run_seeds(seed: int, n_runs: int) -> list[np.random.SeedSequence]:
    return np.random.SeedSequence(seed).spawn(n_runs)


def _init(payload: Any) -> None:
    global _PAYLOAD
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent decides what Ctrl-C stops
    _PAYLOAD = payload


def _call(fn: Callable[[Any, int, np.random.SeedSequence], Any], index: int, ss: np.random.SeedSequence) -> tuple[int, Any]:
    return index, fn(_PAYLOAD, index, ss)


def run_many(fn: Callable[[Any, int, np.random.SeedSequence], Any], payload: Any, n_runs: int, seed: int, *,
             workers: int | None = None, ray_address: str | None = None,
             progress: Callable[[int], None] | None = None) -> list[Any]:
    """`[fn(payload, i, seed_i) for i in range(n_runs)]`, in run order, computed in parallel.

    `fn` must be a module-level function. `workers=1` runs in this process. `ray_address`
    ("auto", "local" or "ray://host:port") sends the runs to Ray instead.
    """
    if n_runs < 1:
        raise UserError("must be at least 1", field="--runs")
    seeds = run_seeds(seed, n_runs)
    if ray_address:
        return _run_ray(fn, payload, seeds, ray_address, progress)
    workers = workers or min(os.cpu_count() or 1, n_runs)
    if workers <= 1:
        out = []
        for i, ss in enumerate(seeds):
            out.append(fn(payload, i, ss))
            if progress:
                progress(1)
        return out
    results: list[Any] = [None] * n_runs
    pool = mp.get_context().Pool(workers, initializer=_init, initargs=(payload,))
    try:
        for i, res in pool.imap_unordered(_call_packed, [(fn, i, ss) for i, ss in enumerate(seeds)]):
            results[i] = res
            if progress:
                progress(1)
    except BaseException:
        pool.terminate()          # Ctrl-C or a failed run: stop every worker now, start nothing more
        pool.join()
        raise
    pool.close()
    pool.join()
    return results


def _call_packed(args: tuple) -> tuple[int, Any]:
    return _call(*args)


def _run_ray(fn, payload, seeds: Sequence[np.random.SeedSequence], address: str,
             progress: Callable[[int], None] | None) -> list[Any]:
    try:
        import ray
    except ImportError:
        raise UserError("Ray is not installed; install the extra: pip install 'polyfleet[ray]'",
                        field="--ray") from None
    started = False
    if not ray.is_initialized():
        # "local" starts a private instance here, never one another process left running
        ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        started = True
    pending: dict = {}
    try:
        ref = ray.put(payload)
        remote = ray.remote(_ray_call)
        pending = {remote.remote(fn, ref, i, ss): i for i, ss in enumerate(seeds)}
        results: list[Any] = [None] * len(seeds)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for obj in done:
                results[pending.pop(obj)] = ray.get(obj)
                if progress:
                    progress(1)
        return results
    except BaseException:
        for obj in pending:
            ray.cancel(obj, force=True)
        raise
    finally:
        if started and address == "local":
            ray.shutdown()


def _ray_call(fn, payload, index, ss):
    return fn(payload, index, ss)
