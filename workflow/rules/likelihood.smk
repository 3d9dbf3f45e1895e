# Likelihood stage: MLE + autodiff Hessian errors + MINUIT cross-checks, and the 2-D grid scan.


rule fit:
    input:
        model_inputs,
        code=code("fit"),
    output:
        fit="results/likelihood/{model}/fit.json",
    log:
        "results/logs/fit/{model}.log",
    benchmark:
        "results/benchmarks/fit/{model}.tsv"
    priority: 10
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=3000,
        runtime=30,
        gpu=gpu_for("fit"),
    params:
        model=model_definition,
        settings=likelihood_settings(),
    script:
        entry_script("fit")


rule grid_scan:
    input:
        model_inputs,
        fit=rules.fit.output.fit,
        code=code("grid_scan"),
    output:
        grid="results/likelihood/{model}/grid.npz",
    log:
        "results/logs/grid_scan/{model}.log",
    benchmark:
        "results/benchmarks/grid_scan/{model}.tsv"
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=grid_scan_resource("mem_mb"),
        runtime=grid_scan_resource("runtime"),
        gpu=gpu_for("grid_scan"),
    params:
        model=model_definition,
        grid=model_grid,
    script:
        entry_script("grid_scan")


rule plot_likelihood:
    input:
        fit=rules.fit.output.fit,
        grid=rules.grid_scan.output.grid,
        code=code("plot_likelihood"),
    output:
        grid=report(
            f"results/figures/likelihood/{{model}}_grid.{FIG}",
            caption="../report/likelihood_grid.rst",
            category="Likelihood",
            labels={"model": "{model}", "figure": "lnL grid + gradient field"},
        ),
        profile=report(
            f"results/figures/likelihood/{{model}}_profile.{FIG}",
            caption="../report/likelihood_profile.rst",
            category="Likelihood",
            labels={"model": "{model}", "figure": "POI profile"},
        ),
        pulls=report(
            f"results/figures/likelihood/{{model}}_pulls.{FIG}",
            caption="../report/likelihood_pulls.rst",
            category="Likelihood",
            labels={"model": "{model}", "figure": "pulls"},
        ),
        correlation=report(
            f"results/figures/likelihood/{{model}}_correlation.{FIG}",
            caption="../report/likelihood_correlation.rst",
            category="Likelihood",
            labels={"model": "{model}", "figure": "correlation matrix"},
        ),
    log:
        "results/logs/plot_likelihood/{model}.log",
    benchmark:
        "results/benchmarks/plot_likelihood/{model}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
        gpu=0,
    params:
        figures=figure_style(colormap=True),
    script:
        entry_script("plot_likelihood")
