# Inference stage. A model with a POI gets one `inference` job (CLs limits, significance,
# impacts, goodness of fit, yields: one compiled likelihood); a model without one (a
# background-only workspace, `poi: null`) a `postfit` job (goodness of fit, yields). Both write
# gof.json and yields.csv: the wildcard constraints say which rule makes them for which model.
# Signal grids: limits for every patch of a patchset in one job.


rule postfit:
    input:
        model_inputs,
        code=code("postfit"),
    output:
        gof="results/inference/{model}/gof.json",
        yields="results/inference/{model}/yields.csv",
    log:
        "results/logs/postfit/{model}.log",
    benchmark:
        "results/benchmarks/postfit/{model}.tsv"
    wildcard_constraints:
        model=one_of(NO_POI_MODELS),
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=3000,
        runtime=15,
        gpu=gpu_for("postfit"),
    params:
        model=model_definition,
        settings=inference_settings("gof_toys"),
    script:
        entry_script("postfit")


rule inference:
    input:
        model_inputs,
        code=code("inference"),
    output:
        limits="results/inference/{model}/limits.json",
        significance="results/inference/{model}/significance.json",
        impacts="results/inference/{model}/impacts.csv",
        impact_groups="results/inference/{model}/impact_groups.csv",
        gof="results/inference/{model}/gof.json",
        yields="results/inference/{model}/yields.csv",
    log:
        "results/logs/inference/{model}.log",
    benchmark:
        "results/benchmarks/inference/{model}.tsv"
    wildcard_constraints:
        model=one_of(POI_MODELS),
    priority: 10
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=3000,
        runtime=30,
        gpu=gpu_for("inference"),
    params:
        model=model_definition,
        settings=inference_settings(
            "cl",
            "curve_points",
            "poi_bound_max",
            "gof_toys",
            "test_statistic",
            "impact_groups",
        ),
    script:
        entry_script("inference")


rule signal_grid_block:
    input:
        signal_grid_inputs,
        code=code("signal_grid_block"),
    output:
        block="results/signal/{signal_grid}/block{block}.csv",
    log:
        "results/logs/signal_grid_block/{signal_grid}-{block}.log",
    benchmark:
        "results/benchmarks/signal_grid_block/{signal_grid}-{block}.tsv"
    wildcard_constraints:
        block=r"\d+",
    priority: 30
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=3000,
        runtime=signal_grid_runtime,
        gpu=gpu_for("signal_grid"),
    params:
        signal_grid=signal_grid_block_entry,
        settings=inference_settings("cl", "poi_bound_max", "test_statistic"),
    script:
        entry_script("signal_grid_block")


rule signal_grid:
    input:
        blocks=signal_grid_block_files,
        code=code("signal_grid"),
    output:
        limits="results/signal/{signal_grid}/limits.csv",
        contours="results/signal/{signal_grid}/contours.csv",
    log:
        "results/logs/signal_grid/{signal_grid}.log",
    benchmark:
        "results/benchmarks/signal_grid/{signal_grid}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
        gpu=0,
    params:
        signal_grid=signal_grid_config,
    script:
        entry_script("signal_grid")


rule sensitivity:
    input:
        model_inputs,
        code=code("sensitivity"),
    output:
        sensitivity="results/inference/{model}/sensitivity.json",
    log:
        "results/logs/sensitivity/{model}.log",
    benchmark:
        "results/benchmarks/sensitivity/{model}.tsv"
    wildcard_constraints:
        model=one_of(POI_MODELS),
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=3000,
        runtime=30,
        gpu=gpu_for("sensitivity"),
    params:
        model=model_definition,
        settings=sensitivity_settings(),
    script:
        entry_script("sensitivity")


rule plot_sensitivity:
    input:
        sensitivity=rules.sensitivity.output.sensitivity,
        code=code("plot_sensitivity"),
    output:
        figure=report(
            f"results/figures/inference/{{model}}_budget.{FIG}",
            caption="../report/inference_budget.rst",
            category="Inference",
            labels={"model": "{model}", "figure": "systematics budget"},
        ),
    log:
        "results/logs/plot_sensitivity/{model}.log",
    benchmark:
        "results/benchmarks/plot_sensitivity/{model}.tsv"
    wildcard_constraints:
        model=one_of(POI_MODELS),
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
        gpu=0,
    params:
        figures=figure_style(),
        top=config["inference"]["ranking_top"],
    script:
        entry_script("plot_sensitivity")


rule plot_yields:
    input:
        yields="results/inference/{model}/yields.csv",
        code=code("plot_yields"),
    output:
        prefit=report(
            f"results/figures/inference/{{model}}_prefit.{FIG}",
            caption="../report/inference_prefit.rst",
            category="Inference",
            labels={"model": "{model}", "figure": "pre-fit yields"},
        ),
        postfit=report(
            f"results/figures/inference/{{model}}_postfit.{FIG}",
            caption="../report/inference_postfit.rst",
            category="Inference",
            labels={"model": "{model}", "figure": "post-fit yields"},
        ),
    log:
        "results/logs/plot_yields/{model}.log",
    benchmark:
        "results/benchmarks/plot_yields/{model}.tsv"
    wildcard_constraints:
        model=one_of(list(config["likelihood"]["models"])),
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
        gpu=0,
    params:
        figures=figure_style(),
        binning=model_binning,
        label=figure_label(),
    script:
        entry_script("plot_yields")


rule plot_inference:
    input:
        limits=rules.inference.output.limits,
        impacts=rules.inference.output.impacts,
        impact_groups=rules.inference.output.impact_groups,
        code=code("plot_inference"),
    output:
        cls=report(
            f"results/figures/inference/{{model}}_cls.{FIG}",
            caption="../report/inference_cls.rst",
            category="Inference",
            labels={"model": "{model}", "figure": "CLs and Brazil band"},
        ),
        ranking=report(
            f"results/figures/inference/{{model}}_ranking.{FIG}",
            caption="../report/inference_ranking.rst",
            category="Inference",
            labels={"model": "{model}", "figure": "impact ranking"},
        ),
        groups=report(
            f"results/figures/inference/{{model}}_impact_groups.{FIG}",
            caption="../report/inference_groups.rst",
            category="Inference",
            labels={"model": "{model}", "figure": "grouped impacts"},
        ),
    log:
        "results/logs/plot_inference/{model}.log",
    benchmark:
        "results/benchmarks/plot_inference/{model}.tsv"
    wildcard_constraints:
        model=one_of(POI_MODELS),
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
        gpu=0,
    params:
        figures=figure_style(),
        top=config["inference"]["ranking_top"],
    script:
        entry_script("plot_inference")


rule plot_signal_grid:
    input:
        limits=rules.signal_grid.output.limits,
        contours=rules.signal_grid.output.contours,
        code=code("plot_signal_grid"),
    output:
        figure=report(
            f"results/figures/signal/{{signal_grid}}.{FIG}",
            caption="../report/signal_grid.rst",
            category="Inference",
            labels={"signal_grid": "{signal_grid}", "figure": "signal grid limits"},
        ),
    log:
        "results/logs/plot_signal_grid/{signal_grid}.log",
    benchmark:
        "results/benchmarks/plot_signal_grid/{signal_grid}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
        gpu=0,
    params:
        figures=figure_style(colormap=True),
        units=label_units(),
    script:
        entry_script("plot_signal_grid")
