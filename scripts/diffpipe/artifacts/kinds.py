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
            model, parameters, ours_s, peer, peer_s, peer_capped, speedup, detail.
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


@dataclass(kw_only=True)
class ModelInference:
    """Fields every per-model inference artifact carries (a mixin of the kinds below).

    Attributes:
        model: the model's name.
        definition: its config entry.
        origin: source, measurement, patchset, patch, data, poi, poi_reason.
    """

    model: str
    definition: dict
    origin: dict


@dataclass(kw_only=True)
class Limits(ModelInference, JsonArtifact):
    """inference/{model}/limits.json: asymptotic CLs upper limits on the POI (q̃μ).

    Attributes:
        model: the model's name.
        definition: its config entry.
        origin: source, measurement, patchset, patch, data, poi, poi_reason.
        poi: the POI's name.
        cl: confidence level (0.95).
        observed: observed upper limit on the POI (None where `failures` says why).
        expected: expected limits at the band positions `band_sigma` (+2, +1, 0, -1, -2 σ of
            the background-only test statistic: lower to upper edge of the band).
        band_sigma: the band positions.
        failures: curve -> why it has no limit (none bracketed below the POI upper bound,
            widened up to `inference.poi_bound_max`).
        curves: mu, observed CLs, expected CLs (5 curves, `band_sigma` order) on a POI grid.
        poi_bounds: [low, high] of the POI in the test-statistic fits (low = 0 for q̃μ, the
            model's for qμ; high widened from the declared bound where a limit lay above it).
        declared_poi_upper: the model's own upper bound of the POI.
        n_fits: fits made; free_fit_restarts: free fits redone after a fixed fit beat them.
        test_statistic: "qtilde" (q̃μ) or "q" (qμ), `inference.test_statistic`.
    """

    KIND: ClassVar[str] = "limits"
    poi: str
    cl: float
    observed: float | None
    expected: list
    band_sigma: list[int]
    failures: dict
    curves: dict
    poi_bounds: list[float]
    declared_poi_upper: float
    n_fits: int
    free_fit_restarts: int
    test_statistic: str = "qtilde"


@dataclass(kw_only=True)
class Significance(ModelInference, JsonArtifact):
    """inference/{model}/significance.json: discovery significance from q0.

    Attributes:
        model: the model's name.
        definition: its config entry.
        origin: see `Limits.origin`.
        poi: the POI's name.
        muhat: best-fit POI with the POI bounded below at 0.
        q0: observed test statistic; observed_z = sqrt(q0), observed_p its one-sided p-value.
        q0_asimov: q0 on the Asimov data of the fit with POI = 1; expected_z, expected_p.
    """

    KIND: ClassVar[str] = "significance"
    poi: str
    muhat: float
    q0: float
    observed_z: float
    observed_p: float
    q0_asimov: float
    expected_z: float
    expected_p: float


@dataclass(kw_only=True)
class Sensitivity(ModelInference, JsonArtifact):
    """inference/{model}/sensitivity.json: the systematics budget (gradients with respect to the specification).

    Attributes:
        model: the model's name.
        definition: its config entry.
        origin: see `Limits.origin`.
        poi: the POI's name.
        cl: confidence level of the limits.
        limits: {observed, expected_median} upper limits at the published specification.
        expected_z: expected discovery significance there.
        modifiers: per systematic: modifier, kinds, dln_expected_limit and dln_observed_limit
            (d ln(limit) / d ln(scale of its magnitude)), d_expected_z (dZ_A / d ln scale);
            null where `failures` says why.
        samples: per sample: the same with respect to its normalisation.
        signal_sample: the sample the POI scales (null: none).
        signal_bins: per main bin of the signal: channel, bin, signal_yield [events],
            d_expected_limit_per_event, d_observed_limit_per_event, d_expected_z_per_event
            (null where the bin has no signal).
        halving: for the systematics with the largest |dln_expected_limit|: modifier,
            expected_limit, predicted_at_half (linear in the scale), refit_at_half (the model
            rebuilt with the scale at 0.5 and fitted again; null with refit_failure).
        failures: quantity -> why it has no gradient.
        timing: limit_s, gradient_s, halving_s [s, timing].
    """

    KIND: ClassVar[str] = "sensitivity"
    poi: str
    cl: float
    limits: dict
    expected_z: float
    modifiers: list
    samples: list
    signal_sample: str | None
    signal_bins: list
    halving: list
    failures: dict
    timing: dict


@dataclass(kw_only=True)
class AnalysisDesign(JsonArtifact):
    """design/{design}.json: a selection and binning trained end to end on the expected sensitivity.

    Attributes:
        design: the entry's name.
        definition: its config entry.
        events: where the events come from ({generator: {seed, events_per_sample}} or
            {npz, sha256}) and the simulated events per sample (`simulated`).
        loss: cls (expected CLs at mu_test), limit (expected upper limit) or
            inverse_significance (1 / Z_A).
        cl: confidence level of the limits.
        start, trained: cut, edges and logits of the start and of the trained design (the
            step of lowest loss).
        best_step: that step.
        history: per step: step, loss, cut, edges (the parameters the loss was computed at).
        histograms: start and trained, hard and soft: per sample (signal, background_1,
            background_2) its yields per bin [events], and the edges.
        validation: start, trained, grid_best: cut, expected_limit (the compiled kernel's) and
            pyhf_expected_limit (pyhf's upper_limit of the hard analysis rebuilt as a
            workspace); grid: per cut expected_limit (null with failure); mc_error (bootstrap
            spread of trained - grid-best); beats_start, within_grid (pyhf's limits); null
            where `failures` says why.
        failures: stage part (training, validation) -> why it has no result.
        timing: compile_s, train_s, validate_s [s, timing].
    """

    KIND: ClassVar[str] = "analysis_design"
    design: str
    definition: dict
    events: dict
    loss: str
    cl: float
    start: dict
    trained: dict | None
    best_step: int | None
    history: list
    histograms: dict
    validation: dict | None
    failures: dict
    timing: dict


@dataclass(kw_only=True)
class GoodnessOfFit(ModelInference, JsonArtifact):
    """inference/{model}/gof.json: saturated-model goodness of fit.

    Attributes:
        model: the model's name.
        definition: its config entry.
        origin: see `Limits.origin`.
        twice_nll: -2 ln L at the best fit; twice_nll_saturated: of the saturated model.
        chi2: their difference; ndof: bins - floating unconstrained parameters; p_value: the
            asymptotic (χ²_ndof) p-value.
        toys: toys drawn at the best fit (`inference.gof_toys`; 0: none, or ndof = 0); toys_converged: those
            whose fit converged; toy_p_value: the fraction of them with a statistic at or above
            chi2, toy_p_error its binomial error, toy_chi2_mean their mean statistic (None
            without toys).
    """

    KIND: ClassVar[str] = "gof"
    twice_nll: float
    twice_nll_saturated: float
    chi2: float
    ndof: int
    p_value: float | None
    toys: int
    toys_converged: int
    toy_p_value: float | None
    toy_p_error: float | None
    toy_chi2_mean: float | None


@dataclass(kw_only=True)
class Impacts(ModelInference, TableArtifact):
    """inference/{model}/impacts.csv: impact of each nuisance parameter on the POI (ranking).

    Attributes:
        table: parameter, bestfit, uncertainty (post-fit σ), prior_width, prefit_up,
            prefit_down, postfit_up, postfit_down (POI shift of the refits with the parameter
            held at best fit ± prior width / ± σ), linear_postfit, linear_prefit (the same from
            the covariance, linearised), refit_converged; ranked by the largest post-fit impact.
        model: the model's name.
        definition: its config entry.
        origin: see `Limits.origin`.
        poi: the POI's name; poi_bestfit, poi_uncertainty: its best fit and σ.
    """

    KIND: ClassVar[str] = "impacts"
    poi: str
    poi_bestfit: float
    poi_uncertainty: float


@dataclass(kw_only=True)
class ImpactGroups(ModelInference, TableArtifact):
    """inference/{model}/impact_groups.csv: the POI's uncertainty by groups of nuisance parameters.

    Attributes:
        table: group (first `total`, nothing held; last `stat`, every nuisance parameter held),
            n_parameters (floating parameters held), members (their names, space-separated),
            sigma_up, sigma_down (the POI's profile-likelihood interval ends with the group
            held, offsets from μ̂; empty where not found), sigma (their mean), sigma_covariance
            (the same from the covariance), impact and impact_covariance (√(σ_total² - σ²)),
            converged (every refit of the row).
        model: the model's name.
        definition: its config entry.
        origin: see `Limits.origin`.
        poi: the POI's name.
        sigma_total: σ of the POI with nothing held (refits; the covariance one in the table).
        quadrature_sum: √(stat² + Σ group impacts²) by refits (None where a part is missing):
            beside `sigma_total` it shows the groups' overlaps and correlations.
        quadrature_sum_covariance: the same from the covariance.
        groups_source: "config" (`inference.impact_groups`) or "modifier types" (automatic).
    """

    KIND: ClassVar[str] = "impact_groups"
    poi: str
    sigma_total: float | None
    quadrature_sum: float | None
    quadrature_sum_covariance: float | None
    groups_source: str


@dataclass(kw_only=True)
class Yields(ModelInference, TableArtifact):
    """inference/{model}/yields.csv: pre- and post-fit expected yields with uncertainties.

    Attributes:
        table: stage (prefit, postfit), channel, scope (bin, channel), bin (-1: channel sum),
            sample (or total), yield, stdev (linear propagation, full covariance), data
            (observed count in the total rows, else empty) [events].
        model: the model's name.
        definition: its config entry.
        origin: see `Limits.origin`.
        channels: channel names; samples: sample names; bins: bins per channel.
    """

    KIND: ClassVar[str] = "yields"
    channels: list[str]
    samples: list[str]
    bins: dict


@dataclass(kw_only=True)
class SignalGrid(TableArtifact):
    """signal/{signal_grid}/limits.csv: CLs upper limits on the POI for every patch of a signal grid.

    Attributes:
        table: patch, one column per label (the patch's values), observed, expected_p2,
            expected_p1, expected, expected_m1, expected_m2 (band edges), failure (why a limit
            is missing, else empty), fits, seconds, excluded (the observed limit on the POI is
            below 1: the hypothesis is excluded at `cl`).
        grid: the grid's name; definition: its config entry.
        labels: the patchset's value labels; cl: confidence level; poi: the POI's name.
        shared_compilation: whether each job's patches ran on one compiled likelihood (patches
            of one structure), why not when they did not, and `blocks`: the jobs the grid was
            split into (`patches_per_job`).
        n_excluded: how many hypotheses are excluded.
    """

    KIND: ClassVar[str] = "signal_grid"
    grid: str
    definition: dict
    labels: list[str]
    cl: float
    poi: str
    shared_compilation: dict
    n_excluded: int


@dataclass(kw_only=True)
class SignalContours(TableArtifact):
    """signal/{signal_grid}/contours.csv: the exclusion contours (limit = 1) of a signal grid.

    Attributes:
        table: curve (observed, expected, expected_p1, expected_m1, expected_p2, expected_m2:
            the columns of `SignalGrid.table`), segment, point (the order along the segment),
            and one column per label (the first two) with the contour point's values in the
            labels' units. Two labels: ordered polylines, interpolated linearly in log10(limit)
            on the Delaunay triangulation of the signal points with each label scaled to [0, 1]
            (a closed loop ends on its first point). One label: the crossings, one row each.
        grid: the grid's name.
        labels: the labels the contour columns hold.
        interpolation: how the limits were interpolated (for a reader of the file).
        curves_without_contour: curves that cross 1 nowhere in the grid (or have no limits).
    """

    KIND: ClassVar[str] = "signal_contours"
    grid: str
    labels: list[str]
    interpolation: str
    curves_without_contour: list[str]


@dataclass(kw_only=True)
class SignalGridBlock(TableArtifact):
    """signal/{signal_grid}/block{k}.csv: the limits of one block of a signal grid's patches (one job).

    Attributes:
        table: as `SignalGrid`'s, without `excluded` (the merge adds it).
        grid: the grid's name; block: its index (patches_per_job at a time, in the patchset's
            order); definition: the block's entry (the grid's, with `patches` = the block's).
        labels, cl, poi: as `SignalGrid`'s.
        shared_compilation: whether the block's patches ran on one compiled likelihood.
    """

    KIND: ClassVar[str] = "signal_grid_block"
    grid: str
    block: int
    definition: dict
    labels: list[str]
    cl: float
    poi: str
    shared_compilation: dict
