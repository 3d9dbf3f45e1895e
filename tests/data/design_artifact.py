"""A small synthetic `AnalysisDesign` artifact for the figure and report tests."""

from diffpipe import artifacts


def design(trained: bool) -> artifacts.AnalysisDesign:
    """A design with (trained) or without (a failed training) a result."""
    start = {"cut": 0.2, "edges": [0.0, 0.5, 1.0], "logits": [0.0, 0.0]}
    hists = {
        "edges": [0.0, 0.5, 1.0],
        "hard": {"signal": [1.0, 4.0], "background_1": [20.0, 5.0], "background_2": [3.0, 6.0]},
        "soft": {"signal": [1.1, 3.9], "background_1": [19.0, 5.5], "background_2": [3.2, 5.8]},
    }
    after = {"cut": 0.6, "edges": [0.0, 0.7, 1.0], "logits": [0.4, -0.4]}
    limits = {
        name: {"cut": c, "expected_limit": v, "pyhf_expected_limit": v}
        for name, c, v in (("start", 0.2, 1.5), ("trained", 0.6, 0.4), ("grid_best", 0.5, 0.5))
    }
    return artifacts.AnalysisDesign(
        design="d",
        definition={"mu_test": 1.0},
        events={"generator": {"seed": 1, "events_per_sample": 10}},
        loss="limit",
        cl=0.95,
        start=start,
        trained=after if trained else None,
        best_step=2 if trained else None,
        history=[{"step": k, "loss": v, "cut": 0.2, "edges": [0.0, 0.5, 1.0]} for k, v in enumerate([1.5, 0.8, 0.4])]
        if trained
        else [],
        histograms={"start": hists, "trained": {**hists, "edges": after["edges"]}} if trained else {"start": hists},
        validation={**limits, "grid": [], "mc_error": 0.05, "beats_start": True, "within_grid": True}
        if trained
        else None,
        failures={} if trained else {"training": "the fit with mu=1 held did not converge"},
        timing={"compile_s": 1.0, "train_s": 1.0, "validate_s": 1.0},
    )
