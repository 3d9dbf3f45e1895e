# Optimizer comparison: one job per problem (scipy, optimistix, optax; repeated), then its figures.


rule optimize:
    input:
        unpack(problem_fit),
        problem_inputs,
        code=code("optimize"),
        user_code=problem_user_code,
    output:
        table="results/optimizers/{problem}.csv",
        traces="results/optimizers/{problem}_traces.json",
    log:
        "results/logs/optimize/{problem}.log",
    benchmark:
        "results/benchmarks/optimize/{problem}.tsv"
    conda:
        "../../environment.yml"
    # One thread: the timings compare methods, not thread pools (scipy's BLAS and XLA's
    # threads contend on a small machine), and problems run side by side instead.
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
        gpu=0,
    params:
        problem=problem_config,
        settings=optimizer_settings(),
    script:
        entry_script("optimize")


rule plot_optimizer:
    input:
        traces=rules.optimize.output.traces,
        code=code("plot_optimizer"),
    output:
        convergence=report(
            f"results/figures/optimizers/{{problem}}_convergence.{FIG}",
            caption="../report/optimizer_convergence.rst",
            category="Optimizers",
            labels={"problem": "{problem}", "figure": "convergence"},
        ),
        ranking=report(
            f"results/figures/optimizers/{{problem}}_ranking.{FIG}",
            caption="../report/optimizer_ranking.rst",
            category="Optimizers",
            labels={"problem": "{problem}", "figure": "ranking"},
        ),
    log:
        "results/logs/plot_optimizer/{problem}.log",
    benchmark:
        "results/benchmarks/plot_optimizer/{problem}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
        gpu=0,
    params:
        figures=figure_style(),
    script:
        entry_script("plot_optimizer")
