# Kernel benchmark (make bench): fractal backends and the likelihood grid scan.


rule benchmark:
    input:
        code=helpers("fractals", "gridscan", "likelihood_model", "artifacts", "runtime"),
    output:
        fractals="results/benchmark/fractals.csv",
        grid="results/benchmark/gridscan.csv",
    log:
        "results/logs/benchmark.log",
    benchmark:
        "results/benchmarks/benchmark.tsv"
    conda:
        "../../environment.yml"
    threads: config["benchmark"]["threads"]
    resources:
        mem_mb=6000,
        runtime=30,
        gpu=gpu_for("benchmark"),
    params:
        benchmark=config["benchmark"],
        grid_model=config["likelihood"]["models"].get(
            config["benchmark"]["grid_model"], {}
        ),
    script:
        "../../scripts/benchmark.py"


rule plot_benchmark:
    input:
        fractals=rules.benchmark.output.fractals,
        grid=rules.benchmark.output.grid,
        code=helpers("figstyle", "artifacts"),
    output:
        figure=report(
            f"results/figures/benchmark.{FIG}",
            caption="../report/benchmark.rst",
            category="Benchmark",
        ),
    log:
        "results/logs/plot_benchmark.log",
    benchmark:
        "results/benchmarks/plot_benchmark.tsv"
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
        "../../scripts/plot_benchmark.py"
