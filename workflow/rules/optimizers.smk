# Optimizer comparison: one job per problem, then its figures.


rule optimize:
    input:
        unpack(problem_fit),
        problem_inputs,
        code=code("optimize"),
    output:
        table="results/optimizers/{problem}.csv",
        traces="results/optimizers/{problem}_traces.json",
    log:
        "results/logs/optimize/{problem}.log",
    benchmark:
        "results/benchmarks/optimize/{problem}.tsv"
    conda:
        "../../environment.yml"
    threads: compute_threads()
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
        table=rules.optimize.output.table,
        traces=rules.optimize.output.traces,
        code=code("plot_optimizer"),
    output:
        convergence=report(
            f"results/figures/optimizers/{{problem}}_convergence.{FIG}",
            caption="../report/optimizer_convergence.rst",
            category="Optimizers",
            labels={"problem": "{problem}", "figure": "convergence"},
        ),
        evaluations=report(
            f"results/figures/optimizers/{{problem}}_evaluations.{FIG}",
            caption="../report/optimizer_evaluations.rst",
            category="Optimizers",
            labels={"problem": "{problem}", "figure": "evaluations"},
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
        figures=config["figures"],
    script:
        entry_script("plot_optimizer")
