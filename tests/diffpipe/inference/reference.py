"""Reference numbers from pyhf and cabinetry for one model entry, printed as JSON.

Run in its own process (numpy backend, MINUIT), so nothing of diffpipe's JAX set-up leaks into
the reference: python reference.py '<model entry as JSON>' '<post-fit errors for the ranking, JSON or null>'.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pyhf

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))

from diffpipe.models import build_model  # noqa: E402


def main(spec: dict, sigma: list | None, what: set[str]) -> dict:
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=1e-6, strategy=2))
    model, data = build_model(spec)
    data = [float(v) for v in data]
    bounds = [list(b) for b in model.config.suggested_bounds()]
    for name, bound in spec.get("bounds", {}).items():
        bounds[model.config.par_names.index(name)] = list(bound)
    out = {}
    if model.config.poi_index is not None:
        poi_bounds = [list(b) for b in bounds]
        poi_bounds[model.config.poi_index][0] = 0.0
        kwargs = {"par_bounds": poi_bounds}
        if "limits" in what:
            obs, exp = pyhf.infer.intervals.upper_limits.upper_limit(data, model, rtol=1e-8, **kwargs)
            out["observed"], out["expected"] = float(obs), [float(e) for e in exp]
        if "significance" in what:
            p0, p0_exp = pyhf.infer.hypotest(0.0, data, model, test_stat="q0", return_expected=True, **kwargs)
            out["p0"], out["p0_expected"] = float(p0), float(p0_exp)
    import cabinetry

    fit = cabinetry.fit.fit(model, data, par_bounds=bounds, strategy=2, tolerance=1e-6, goodness_of_fit=True)
    out["gof_p"] = float(fit.goodness_of_fit)
    out["twice_nll"] = float(fit.best_twice_nll)
    if "ranking" in what and model.config.poi_index is not None:
        ranked = fit
        if sigma is not None:  # rank at the given post-fit errors (same θ̂ ± σ as the caller)
            ranked = cabinetry.fit.FitResults(
                fit.bestfit, np.asarray(sigma), fit.labels, fit.corr_mat, fit.best_twice_nll
            )
        rank = cabinetry.fit.ranking(model, data, fit_results=ranked, par_bounds=bounds, strategy=2, tolerance=1e-6)
        out["ranking"] = {
            label: [float(v) for v in values]
            for label, *values in zip(rank.labels, rank.prefit_up, rank.prefit_down, rank.postfit_up, rank.postfit_down)
        }
    if "yields" in what:
        pars = np.asarray(fit.bestfit)
        stdev = cabinetry.model_utils.yield_stdev(model, pars, np.asarray(fit.uncertainty), fit.corr_mat)
        out["yield_stdev"] = [[list(map(float, s)) for s in channel] for channel in stdev[0]]
        out["yield_stdev_channel"] = [list(map(float, channel)) for channel in stdev[1]]
        out["bestfit"] = [float(v) for v in fit.bestfit]
        out["uncertainty"] = [float(v) for v in fit.uncertainty]
        out["corr"] = np.asarray(fit.corr_mat).tolist()
    return out


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    sigma = json.loads(sys.argv[2])
    what = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else {"limits", "significance", "ranking", "yields"}
    print(json.dumps(main(spec, sigma, what)))
