"""The artifact kinds: one container per file the stages write, with its fields and units.

docs/artifacts.md lists every kind; a test checks that every field is documented there.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from diffpipe.artifacts.formats import ArrayArtifact, JsonArtifact, TableArtifact

if TYPE_CHECKING:
    import pandas as pd  # noqa: F401  (annotations of tables)


# --------------------------------------------------------------------------- gradients
@dataclass(kw_only=True)
class GradientTable(TableArtifact):
    """gradients/gradients.csv: one row per (function, point, gradient component).

    Attributes:
        table: columns function, definition, point, component, reference, jax, tensorflow,
            analytic, finite_difference, max_abs_diff, max_rel_diff, passed.
        definition: the stage's configuration (functions, points, tolerances).
    """

    KIND: ClassVar[str] = "gradients"
    definition: dict = field(default_factory=dict)


@dataclass(kw_only=True)
class ControlFlowTable(TableArtifact):
    """gradients/controlflow.csv: the piecewise function and its derivative on a grid.

    Attributes:
        table: columns x, f, df_jax_vmap, df_jax_pointwise, df_tensorflow, df_analytic,
            f_tensorflow.
        threshold: the branch point (x > threshold takes the sqrt branch).
        steps: how often the upper branch applies x += sqrt(x).
        interval: [start, stop] of the grid.
        max_rel_diff: per derivative column (df_jax_vmap, df_jax_pointwise, df_tensorflow), its
            largest difference from df_analytic relative to max(1, |df_analytic|).
    """

    KIND: ClassVar[str] = "controlflow"
    threshold: float
    steps: int
    interval: list[float]
    max_rel_diff: dict[str, float]


# --------------------------------------------------------------------------- optimizers
@dataclass(kw_only=True)
class OptimizerRuns(TableArtifact):
    """optimizers/{problem}.csv: one row per (family, method, gradient mode, start, repetition).

    Attributes:
        table: columns problem, family (scipy, optimistix, optax), method, gradient_mode,
            start, repetition, success, message, nit, nfev, njev, nhev, wall_time_s [s] (the
            run alone), compile_time_s [s] (compiling its JAX functions, measured apart; not in
            wall_time_s), final_f, grad_norm, distance_to_minimiser (empty: no unique
            minimiser), f_minus_fstar, reached_target, and where the target was reached
            (empty: never) evals_to_target, gradient_evals_to_target, time_to_target_s [s].
        problem: the problem's definition (see `OptimizerTraces.problem`).
    """

    KIND: ClassVar[str] = "optimizer_runs"
    problem: dict


@dataclass(kw_only=True)
class OptimizerTraces(JsonArtifact):
    """optimizers/{problem}_traces.json: convergence per run and the methods' ranking.

    Attributes:
        problem: name, function, description, dimension, fstar (None: none known), fstar_source,
            reference_fstar (fstar, else f_best), minimiser (null: none unique), starts, note.
        runs: per (family, method, gradient_mode, start): evaluations (1-based counts of f),
            f_gap (f - f* there; null where f was not finite), gradient_evaluations (exact
            gradients so far), time_s (seconds since the run started, one list per
            repetition), time_median/time_q05/time_q95 (over the repetitions), deterministic
            (every repetition evaluated the same f), iterations and trajectory (x at those
            iterations; first repetition, problems up to 10 dimensions, else empty).
        summary: per (family, method, gradient_mode): runs, reached (runs whose f came within
            the target at some evaluation), median/q05/q95 over starts and repetitions of time_to_target_s,
            evals_to_target, gradient_evals_to_target (runs that reached it) and wall_time_s,
            rank_time and rank_evaluations (1 = fastest; null: never reached).
    """

    KIND: ClassVar[str] = "optimizer_traces"
    problem: dict
    runs: list[dict]
    summary: list[dict]


# --------------------------------------------------------------------------- likelihood
@dataclass(kw_only=True)
class FitResult(JsonArtifact):
    """likelihood/{model}/fit.json: maximum-likelihood fit, errors and their cross-checks.

    Attributes:
        model: the model's name in the config.
        definition: the model's config entry (simple counts or workspace, data, bounds).
        parameters: names of the free parameters (order of every per-parameter list).
        all_parameters: names of all parameters (order of `bestfit_all`).
        bestfit: MLE of the free parameters.
        bestfit_all: all parameters at the MLE (fixed ones at their values).
        bounds: [low, high] per free parameter.
        poi: name of the parameter of interest (None: none).
        twice_nll: -2 ln L at the MLE.
        sigma_autodiff: sqrt(diag(covariance)).
        covariance: inverse Hessian of -ln L (autodiff), free parameters.
        correlation: covariance normalised to unit diagonal.
        covariance_hesse: MINUIT HESSE covariance.
        crosscheck: per parameter: bestfit, sigma_autodiff, sigma_hesse, minos_lower/upper and
            profile_lower/upper (offsets from the best fit; None where cut by a bound or not
            computed), max_rel_diff, worst, flagged, reason.
        flag_groups: the flagged rows grouped by cause: reason, attention (False: a property of
            the likelihood, shown as one line), parameters, estimates, rel_diff [least, largest],
            n_parameters.
        poi_interval: the POI's 68% interval as reported: parameter, value, lower and upper
            (offsets), method (MINOS where both ends are valid, else the profile likelihood,
            else the autodiff Hessian); None without a free POI.
        profile: POI profile scan: parameter, values, delta_2nll, interval_68 (absolute ends).
        pulls: per constrained parameter: parameter, pull, constraint.
        convergence: migrad (valid, edm, nfcn, ngrad), newton_steps, newton_converged,
            gradient_norm.
        closed_form: Fisher-information errors where a closed form exists (else None).
        data: the dataset fitted (main + auxiliary).
        held: parameter name -> value of every parameter the fit holds (the workspace's fixed
            ones and the entry's `fixed`).
    """

    KIND: ClassVar[str] = "fit"
    model: str
    definition: dict
    parameters: list[str]
    all_parameters: list[str]
    bestfit: list[float]
    bestfit_all: list[float]
    bounds: list[list[float]]
    poi: str | None
    twice_nll: float
    sigma_autodiff: list[float]
    covariance: list[list[float]]
    correlation: list[list[float]]
    covariance_hesse: list[list[float]]
    crosscheck: list[dict]
    flag_groups: list[dict] = field(default_factory=list)
    poi_interval: dict | None = None
    profile: dict | None
    pulls: list[dict]
    convergence: dict
    closed_form: dict | None
    data: list[float]
    held: dict = field(default_factory=dict)


@dataclass(kw_only=True)
class GridScan(ArrayArtifact):
    """likelihood/{model}/grid.npz: ln L on a 2-D grid and its gradient on a coarser one.

    Attributes:
        x, y: grid axes (values of parameters `names[0]`, `names[1]`).
        lnl: ln L, shape (len(y), len(x)): rows follow y.
        arrow_x, arrow_y: coordinates of the gradient arrows (2-D).
        arrow_lnl, arrow_dx, arrow_dy: ln L and its gradient there.
        names: the two parameters scanned.
        bestfit: the MLE of those two parameters.
        model: the model's name.
        fixed_at: every parameter's value while scanning (the best fit).
    """

    KIND: ClassVar[str] = "grid_scan"
    PAYLOAD: ClassVar[tuple[str, ...]] = ("x", "y", "lnl", "arrow_x", "arrow_y", "arrow_lnl", "arrow_dx", "arrow_dy")
    x: np.ndarray
    y: np.ndarray
    lnl: np.ndarray
    arrow_x: np.ndarray
    arrow_y: np.ndarray
    arrow_lnl: np.ndarray
    arrow_dx: np.ndarray
    arrow_dy: np.ndarray
    names: list[str]
    bestfit: list[float]
    model: str
    fixed_at: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- fractals
@dataclass(kw_only=True)
class FractalCounts(ArrayArtifact):
    """fractals/{name}/counts.npz: escape counts and the coordinates they were computed on.

    Attributes:
        counts: int32, shape (height, width): iterations with |z| < threshold; row 0 is ymin.
        name: the fractal's name in the config.
        kind: mandelbrot or julia.
        c: the Julia constant [re, im] (None for Mandelbrot).
        viewport: [xmin, xmax, ymin, ymax] of the complex plane.
        width, height: pixels.
        iterations: iterations per pixel.
        threshold: escape radius.
        backend: the kernel that computed the counts.
    """

    KIND: ClassVar[str] = "fractal_counts"
    PAYLOAD: ClassVar[tuple[str, ...]] = ("counts",)
    counts: np.ndarray
    name: str
    kind: str
    c: list[float] | None
    viewport: list[float]
    width: int
    height: int
    iterations: int
    threshold: float
    backend: str


# --------------------------------------------------------------------------- benchmark
@dataclass(kw_only=True)
class BenchmarkTable(TableArtifact):
    """benchmark/{fractals,gridscan,inference}.csv: timings [s] (kernels: first call and steady state).

    Attributes:
        table: columns kernel, backend, size, points, first_call_s, steady_s, target_s,
            meets_target (+ iterations, speedup_vs_eager or per_point_s); inference: kernel,
            model, parameters, ours_s, peer, peer_s, peer_capped, peer_failure (why a peer gave no
            time: its error), speedup (NaN where the peer failed), detail.
        what: "fractals", "gridscan", "inference" or "toys".
        cpu: the machine: model name, cores, vector instruction sets.
    """

    KIND: ClassVar[str] = "benchmark"
    what: str
    cpu: dict


@dataclass(kw_only=True)
class PipelineTiming(JsonArtifact):
    """benchmark/pipeline.json: whole-pipeline timings in fresh copies of the project [s].

    Attributes:
        runs: per config: config, cores, clean_run_s, noop_rerun_s, noop_dry_run_s, targets
            and whether each was met.
        cpu: the machine (see `BenchmarkTable.cpu`).
        jobs: jobs run again alone after a clean run: config, rule, job, job_s, import_s
            (top-level imports, `python -X importtime`), import_share, top_imports, and for
            plot jobs job_s_target and job_s_met.
    """

    KIND: ClassVar[str] = "pipeline_timing"
    runs: list[dict]
    cpu: dict
    jobs: list[dict] = field(default_factory=list)
