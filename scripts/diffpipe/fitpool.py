"""Fits of many models of one structure, asked for one at a time by many callers, run as one queue.

A signal grid's limit search is sequential within a patch (each μ it tries depends on the fits
before it) and its fits are one or two rows each, so one patch's fits run one by one, one lane
at a time, where a step costs nearly what a batch of lanes costs (1Lbb: ~1.4 ms a step alone,
~0.5 ms a lane on 16 lanes). Many patches' searches are independent, though: `FitPool.run` runs
one task per fitter in its own thread, each fitter's fits (`Fitter.fit`) wait in the pool, and
once every running task waits on a fit the pool runs all of them in one queue
(`Solver.fit_rows`: each row the exact steps of a one-by-one fit of its own patch).

The rows of a call are put in task order, and a call starts only when every running task waits,
so which fits share a call, and so every number, does not depend on the threads' timing.
"""

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from diffpipe.solver import FitBatch


@dataclass
class _Request:
    """One task's fit waiting in the pool."""

    arrays: tuple  # x0, data, fixed, values (n, ...) each, bounds (npars, 2)
    hessian: bool
    done: threading.Event = field(default_factory=threading.Event)
    result: FitBatch | None = None
    error: BaseException | None = None


class FitPool:
    """The fits of several fitters sharing one compiled `Solver`, each running a task in a thread.

    Args:
        fitters: the fitters (`fitting.Fitter`), one structure, one solver; their `pool` and
            `worker` are set to this pool and their index.
    """

    def __init__(self, fitters: list):
        import jax
        import jax.numpy as jnp

        from diffpipe.compiled import kernel

        solvers = {id(f.solver) for f in fitters}
        if len(solvers) != 1:
            raise ValueError(f"the fitters of a pool share one compiled solver ({len(solvers)} given)")
        self.solver = fitters[0].solver
        derived = [kernel(f.model).default() if f.derived is None else f.derived for f in fitters]
        self.stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *derived)
        self.fitters = fitters
        for i, fitter in enumerate(fitters):
            fitter.pool, fitter.worker = self, i
        # one lock for the two sets; the dispatcher wakes on `_ready` (every running task waits),
        # each task on its own request's event: a task's wake-up wakes no other thread
        self._lock = threading.Lock()
        self._ready = threading.Event()
        # one task computes at a time (between its fits): a task's work is Python, which the
        # GIL serialises anyway, and its NumPy calls then do not contend for BLAS's threads
        # (63 tasks inverting a Hessian at once with a 2-thread OpenBLAS took seconds each)
        self._turn = threading.Lock()
        self._waiting: dict[int, _Request] = {}
        self._running: set[int] = set()
        self.calls = 0
        self.rows = 0
        self.seconds = np.zeros(len(fitters))
        self._since = np.zeros(len(fitters))

    def fit(self, worker: int, x0, data, fixed, values, bounds, hessian: bool) -> FitBatch:
        """One task's fits: wait until the pool has run them (with every other task's waiting fits).

        Args:
            worker: the task's index.
            x0: starts, (n, npars).
            data: datasets, (n, ndata).
            fixed: held-parameter masks, (n, npars).
            values: held values, (n, npars).
            bounds: (npars, 2) bounds.
            hessian: compute the exact Hessian at each best fit.

        Returns:
            The task's `FitBatch` (unconverged rows as the Newton solve left them).
        """
        request = _Request((x0, data, fixed, values, bounds), hessian)
        with self._lock:
            self._waiting[worker] = request
            self._check_ready()
        self._yield_turn(worker)
        request.done.wait()
        self._take_turn(worker)
        if request.error is not None:
            raise request.error
        return request.result

    def run(self, task) -> list:
        """task(fitter) for every fitter, each in its own thread, their fits pooled.

        Args:
            task: a function of one fitter; it runs in a thread, its fits join the pool.

        Returns:
            One (result, exception or None) per fitter, in order. Each fitter's `seconds` is its
            share of the pool's calls (by the Newton steps of its rows) plus the time it
            computed between them.
        """
        outcomes = [(None, None)] * len(self.fitters)
        if not outcomes:
            return outcomes

        def work(i: int) -> None:
            self._take_turn(i)
            try:
                outcomes[i] = (task(self.fitters[i]), None)
            except Exception as error:  # handed to the caller, which decides
                outcomes[i] = (None, error)
            finally:
                self._yield_turn(i)
                with self._lock:
                    self._running.discard(i)
                    self._check_ready()

        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(self.fitters))]
        self._running = set(range(len(threads)))
        for thread in threads:
            thread.start()
        while True:
            self._ready.wait()
            self._ready.clear()  # no task runs now: each waits on its fit or has ended
            if not self._running:
                break
            self._dispatch()
        for thread in threads:
            thread.join()
        return outcomes

    def _take_turn(self, worker: int) -> None:
        """Wait for the turn to compute (see `_turn`), and start the task's clock."""
        self._turn.acquire()
        self._since[worker] = time.perf_counter()

    def _yield_turn(self, worker: int) -> None:
        """Stop the task's clock and hand the turn on."""
        self.seconds[worker] += time.perf_counter() - self._since[worker]
        self._turn.release()

    def _check_ready(self) -> None:
        """Wake the dispatcher once every running task waits on a fit (or none runs); under the lock."""
        if len(self._waiting) == len(self._running):
            self._ready.set()

    def _dispatch(self) -> None:
        """Run every waiting fit in one queue, rows in task order, and hand each task its rows."""
        workers = sorted(self._waiting)
        requests = [self._waiting.pop(w) for w in workers]
        counts = [len(r.arrays[0]) for r in requests]
        columns = [np.concatenate([r.arrays[k] for r in requests]) for k in range(4)]
        bounds = np.concatenate(
            [np.broadcast_to(r.arrays[4], (c, *r.arrays[4].shape)) for r, c in zip(requests, counts)]
        )
        which = np.repeat(workers, counts)
        hessian = np.repeat([r.hessian for r in requests], counts)
        began = time.perf_counter()
        try:
            batch = self.solver.fit_rows(*columns, bounds, self.stacked, which, hessian)
        except Exception as error:
            for request in requests:
                request.error = error
                request.done.set()
            return
        elapsed = time.perf_counter() - began
        self.calls += 1
        self.rows += len(which)
        steps = np.maximum(batch.iterations, 1).astype(float)
        ends = np.cumsum(counts)
        for worker, request, stop, count in zip(workers, requests, ends, counts):
            rows = slice(stop - count, stop)
            self.seconds[worker] += elapsed * steps[rows].sum() / steps.sum()
            request.result = FitBatch(
                batch.x[rows],
                batch.nll[rows],
                batch.converged[rows],
                batch.iterations[rows],
                batch.hessian[rows] if request.hessian else None,
                batch.outside[rows],
            )
            request.done.set()
