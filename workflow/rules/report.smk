# The self-contained HTML report, built from the declared artifacts only.


def report_inputs(wildcards):
    """Every artifact and figure of the current config (nothing globbed from results/)."""
    problems = list(config["optimizers"]["problems"])
    models = list(config["likelihood"]["models"])
    fractals = list(config["fractals"])
    inputs = {
        "gradients": rules.gradients.output.table,
        "controlflow": rules.controlflow.output.table,
        "controlflow_figure": rules.plot_controlflow.output.figure,
        "optimizer_runs": expand(rules.optimize.output.table, problem=problems),
        "optimizer_convergence": expand(
            rules.plot_optimizer.output.convergence, problem=problems
        ),
        "optimizer_evaluations": expand(
            rules.plot_optimizer.output.evaluations, problem=problems
        ),
        "fits": expand(rules.fit.output.fit, model=models),
        "grids": expand(rules.grid_scan.output.grid, model=models),
        "likelihood_grid": expand(rules.plot_likelihood.output.grid, model=models),
        "likelihood_profile": expand(
            rules.plot_likelihood.output.profile, model=models
        ),
        "likelihood_pulls": expand(rules.plot_likelihood.output.pulls, model=models),
        "likelihood_correlation": expand(
            rules.plot_likelihood.output.correlation, model=models
        ),
        "fractal_counts": expand(rules.fractal.output.counts, fractal=fractals),
        "fractal_images": expand(rules.plot_fractal.output.image, fractal=fractals),
        "fractals_figure": rules.plot_fractals.output.figure,
    }
    runtimes = [
        rules.gradients.benchmark,
        rules.controlflow.benchmark,
        rules.plot_controlflow.benchmark,
        *expand(rules.optimize.benchmark, problem=problems),
        *expand(rules.plot_optimizer.benchmark, problem=problems),
        *expand(rules.fit.benchmark, model=models),
        *expand(rules.grid_scan.benchmark, model=models),
        *expand(rules.plot_likelihood.benchmark, model=models),
        *expand(rules.fractal.benchmark, fractal=fractals),
        *expand(rules.plot_fractal.benchmark, fractal=fractals),
        rules.plot_fractals.benchmark,
    ]
    if benchmark_enabled():
        inputs["benchmark_fractals"] = rules.benchmark.output.fractals
        inputs["benchmark_grid"] = rules.benchmark.output.grid
        inputs["benchmark_figure"] = rules.plot_benchmark.output.figure
        inputs["pipeline_timing"] = rules.pipeline_timing.output.timing
        runtimes += [
            rules.benchmark.benchmark,
            rules.plot_benchmark.benchmark,
            rules.pipeline_timing.benchmark,
        ]
    inputs["runtimes"] = runtimes
    return inputs


rule report:
    input:
        unpack(report_inputs),
        template="workflow/report/report.html.j2",
        macros="workflow/report/macros.html.j2",
        code=code("report"),
    output:
        html="results/report.html",
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
        gpu=0,
    params:
        config=config,
    script:
        entry_script("report")
