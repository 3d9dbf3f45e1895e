"""Fits of a signal grid's patches pooled into one queue against each patch's own one-by-one fits."""

import random
import time

import numpy as np
import pytest
from conftest import ROOT

from diffpipe.fitpool import FitPool
from diffpipe.inference.signal import _Patches

GRID = {
    "workspace": str(ROOT / "resources/generated/bkgonly.json"),
    "patchset": str(ROOT / "resources/generated/patchset.json"),
    "data": "observed",
}
NAMES = ["sig_600_100", "sig_1000_300", "sig_1200_0", "sig_800_200"]


@pytest.fixture()
def analyses():
    grid = _Patches({**GRID, "patches": NAMES}, NAMES)
    return [grid.analysis(name) for name in NAMES]


def _fits(analysis):
    """A patch's chain of dependent fits: free, then the POI held at three values from its minimum."""
    free = analysis.fit(hessian=True)
    out = [free]
    for mu in (0.5, 1.0, 2.0):
        bounds = analysis.bounds.copy()
        bounds[analysis.poi, 1] = 5.0 + mu  # each fit its own bounds
        out.append(
            analysis.fit(
                hold={analysis.poi: mu}, start=np.stack([out[-1].x[0], analysis.init]), bounds=bounds, hessian=False
            )
        )
    return out


def test_pooled_fits_equal_each_patchs_own_fits(analyses):
    own = [_fits(a) for a in analyses]
    pool = FitPool(analyses)
    pooled = pool.run(_fits)
    assert pool.calls == 4  # one queue per round: every patch's fit of that round
    assert pool.rows == len(NAMES) * (1 + 3 * 2)
    for mine, (theirs, error) in zip(own, pooled, strict=True):
        assert error is None
        for a, b in zip(mine, theirs, strict=True):
            assert b.converged.all() and not b.refitted.any()
            np.testing.assert_allclose(b.nll, a.nll, rtol=0, atol=1e-9)
            np.testing.assert_allclose(b.x, a.x, atol=1e-5)
        np.testing.assert_allclose(theirs[0].hessian, mine[0].hessian, rtol=1e-6, atol=1e-9)
        assert theirs[1].hessian is None
    # the patches differ: a pooled row fitted its own patch's numbers
    assert len({round(float(t[0].nll[0]), 6) for t, _ in pooled}) == len(NAMES)
    assert np.all(pool.seconds > 0)


def test_results_do_not_depend_on_the_threads_timing(analyses):
    def jittered(analysis):
        time.sleep(random.uniform(0, 0.05))
        return _fits(analysis)

    first = [[f.nll.copy() for f in fits] for fits, _ in FitPool(analyses).run(jittered)]
    again = [[f.nll.copy() for f in fits] for fits, _ in FitPool(analyses).run(jittered)]
    for a, b in zip(first, again, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


def test_a_failing_task_is_its_own_outcome_and_the_others_finish(analyses):
    def task(analysis):
        fits = _fits(analysis)
        if analysis.worker == 1:
            raise RuntimeError("patch 1 fails after its fits")
        return fits

    outcomes = FitPool(analyses).run(task)
    assert isinstance(outcomes[1][1], RuntimeError) and outcomes[1][0] is None
    assert all(error is None and len(fits) == 4 for i, (fits, error) in enumerate(outcomes) if i != 1)


def test_a_pool_needs_one_compiled_solver(analyses):
    from diffpipe.inference.analysis import prepare
    from diffpipe.models import build_model

    other = prepare(*build_model({**GRID, "patch": NAMES[0]}))
    with pytest.raises(ValueError, match="share one compiled solver"):
        FitPool([analyses[0], other])


def test_a_pools_queue_compiles_one_shape_whatever_its_rows(analyses):
    """A pool's calls range from one row to hundreds: each compiling its own shape would cost
    seconds per call on a published likelihood."""
    from diffpipe.solver import POOL_LANES

    pool = FitPool(analyses)
    first = analyses[0]
    queue = first.solver._solve_queue
    before = queue._cache_size()
    for n in (1, 3, 4 * POOL_LANES + 1):
        x0 = np.repeat(first.init[None], n, axis=0)
        batch = first.solver.fit_rows(
            x0,
            np.repeat(first.data[None], n, axis=0),
            np.repeat(first.fixed[None], n, axis=0),
            x0,
            np.repeat(first.bounds[None], n, axis=0),
            pool.stacked,
            np.arange(n) % len(analyses),
            np.zeros(n, bool),
        )
        assert batch.converged.all() and len(batch.nll) == n
    assert queue._cache_size() == before + 1
