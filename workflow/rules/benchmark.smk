# Benchmarks (make bench): kernel timings, whole-pipeline timings, and their figure.


rule benchmark:
    input:
        code=code("benchmark"),
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
        benchmark=benchmark_kernel_settings(),
        grid_model=without_binning(
            config["likelihood"]["models"].get(config["benchmark"]["grid_model"], {})
        ),
    script:
        entry_script("benchmark")


rule benchmark_inference:
    input:
        benchmark_inference_inputs,
        code=code("benchmark_inference"),
        timed=timed_code("diffpipe/inference/timing.py"),
    output:
        table="results/benchmark/inference.csv",
    log:
        "results/logs/benchmark_inference.log",
    benchmark:
        "results/benchmarks/benchmark_inference.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=6000,
        runtime=120,
        gpu=0,
    params:
        models=benchmark_inference_models(),
        signal_grid=benchmark_inference_signal_grid(),
        patch=config["benchmark"]["inference"]["patch"],
        timeout_s=config["benchmark"]["inference"]["peer_timeout_s"],
        gradient_models=config["benchmark"]["inference"]["gradient_models"],
    script:
        entry_script("benchmark_inference")


rule benchmark_toys:
    input:
        code=code("benchmark_toys"),
        timed=timed_code("diffpipe/toys/timing.py"),
    output:
        table="results/benchmark/toys.csv",
    log:
        "results/logs/benchmark_toys.log",
    benchmark:
        "results/benchmarks/benchmark_toys.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=gpu_for("benchmark"),
    params:
        models=config["benchmark"]["toys"]["models"],
        n_ours=config["benchmark"]["toys"]["n"],
        n_pyhf=config["benchmark"]["toys"]["n_pyhf"],
        timeout_s=config["benchmark"]["inference"]["peer_timeout_s"],
        targets=config["benchmark"]["targets"]["toys"],
    script:
        entry_script("benchmark_toys")


rule pipeline_timing:
    input:
        configs=list(config["benchmark"]["pipeline"]["configs"].values()),
        notebook_script="resources/notebook_script.py",
        code=code("pipeline_timing"),
    output:
        timing="results/benchmark/pipeline.json",
    log:
        "results/logs/pipeline_timing.log",
    benchmark:
        "results/benchmarks/pipeline_timing.tsv"
    conda:
        "../../environment.yml"
    threads: config["benchmark"]["pipeline"]["cores"]
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=0,
    params:
        pipeline=config["benchmark"]["pipeline"],
        targets=config["benchmark"]["targets"]["pipeline"],
        vs_notebook=config["benchmark"]["targets"]["pipeline_vs_notebook"],
        plot_job_s=config["benchmark"]["targets"]["plot_job_s"],
    script:
        entry_script("pipeline_timing")


rule plot_benchmark:
    input:
        fractals=rules.benchmark.output.fractals,
        grid=rules.benchmark.output.grid,
        code=code("plot_benchmark"),
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
        figures=figure_style(),
    script:
        entry_script("plot_benchmark")
