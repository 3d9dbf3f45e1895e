"""The inference stage's artifact kinds: limits, significance, sensitivity, impacts, yields, signal grids, designs.

docs/artifacts.md lists every kind; a test checks that every field is documented there.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from diffpipe.artifacts.formats import JsonArtifact, TableArtifact

if TYPE_CHECKING:
    import pandas as pd  # noqa: F401  (annotations of tables)


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
        n_fits: fits made (each start of a fit at μ counts); free_fit_restarts: free fits redone after a fixed fit beat them.
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
