# The self-contained HTML report, built from every stage's artifacts.


def report_inputs(wildcards):
    problems = list(config["optimizers"]["problems"])
    models = list(config["likelihood"]["models"])
    fractals = list(config["fractals"])
    inputs = {
        "gradients": rules.gradients.output.table,
        "controlflow": rules.controlflow.output.table,
        "controlflow_figure": rules.plot_controlflow.output.figure,
        "optimizer_tables": expand(rules.optimize.output.table, problem=problems),
        "optimizer_convergence": expand(
            rules.plot_optimizer.output.convergence, problem=problems
        ),
        "optimizer_evaluations": expand(
            rules.plot_optimizer.output.evaluations, problem=problems
        ),
        "fits": expand(rules.fit.output.fit, model=models),
        "likelihood_grid": expand(rules.plot_likelihood.output.grid, model=models),
        "likelihood_profile": expand(
            rules.plot_likelihood.output.profile, model=models
        ),
        "likelihood_pulls": expand(rules.plot_likelihood.output.pulls, model=models),
        "likelihood_correlation": expand(
            rules.plot_likelihood.output.correlation, model=models
        ),
        "fractal_images": expand(rules.plot_fractal.output.image, fractal=fractals),
        "fractals_figure": rules.plot_fractals.output.figure,
    }
    if config["benchmark"]["enabled"]:
        inputs["benchmark_fractals"] = rules.benchmark.output.fractals
        inputs["benchmark_grid"] = rules.benchmark.output.grid
        inputs["benchmark_figure"] = rules.plot_benchmark.output.figure
    return inputs


rule report:
    input:
        unpack(report_inputs),
    output:
        html="results/report.html",
    params:
        config=config,
        problems=list(config["optimizers"]["problems"]),
        models=list(config["likelihood"]["models"]),
        fractals=list(config["fractals"]),
        pipeline_timing="results/benchmark/pipeline.json",
        runtimes="results/benchmarks",
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
        gpu=0,
    script:
        "../../scripts/report.py"
