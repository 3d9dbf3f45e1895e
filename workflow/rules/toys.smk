# Pseudo-experiments: one job per shard of toys (a wildcard), a merge into coverage and pulls, a
# figure. A toy's random key derives from its global index, so the merged numbers do not depend
# on the shard size; raising `n` adds shards without rerunning the complete ones.


rule toys:
    input:
        model_inputs,
        code=code("toys"),
    output:
        shard="results/toys/{model}/shard{shard}.npz",
    log:
        "results/logs/toys/{model}-{shard}.log",
    benchmark:
        "results/benchmarks/toys/{model}-{shard}.tsv"
    priority: 10
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=toys_mem_mb,
        runtime=toys_runtime,
        gpu=gpu_for("toys"),
    params:
        model=model_definition,
        toys=toy_generation,
        start=lambda wildcards: toy_range(wildcards)[0],
        stop=lambda wildcards: toy_range(wildcards)[1],
    script:
        entry_script("toys")


rule toy_coverage:
    input:
        shards=toy_shards,
        code=code("toy_coverage"),
    output:
        coverage="results/toys/{model}/coverage.json",
    log:
        "results/logs/toy_coverage/{model}.log",
    benchmark:
        "results/benchmarks/toy_coverage/{model}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
        gpu=0,
    script:
        entry_script("toy_coverage")


rule plot_toy_coverage:
    input:
        coverage=rules.toy_coverage.output.coverage,
        code=code("plot_toy_coverage"),
    output:
        figure=report(
            f"results/figures/toys/{{model}}_coverage.{FIG}",
            caption="../report/toys_coverage.rst",
            category="Pseudo-experiments",
            labels={"model": "{model}", "figure": "coverage and pulls"},
        ),
    log:
        "results/logs/plot_toy_coverage/{model}.log",
    benchmark:
        "results/benchmarks/plot_toy_coverage/{model}.tsv"
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
        entry_script("plot_toy_coverage")


rule toy_hypotest:
    input:
        model_inputs,
        code=code("toy_hypotest"),
    output:
        cls="results/toys/{model}/cls.json",
    log:
        "results/logs/toy_hypotest/{model}.log",
    benchmark:
        "results/benchmarks/toy_hypotest/{model}.tsv"
    priority: 10
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=toys_mem_mb,
        runtime=toy_hypotest_runtime,
        gpu=gpu_for("toys"),
    params:
        model=model_definition,
        settings=lambda wildcards: toys_config(wildcards)["cls"],
        seed=lambda wildcards: toys_config(wildcards)["seed"],
        cl=config["inference"]["cl"],
    script:
        entry_script("toy_hypotest")


rule plot_toy_hypotest:
    input:
        cls=rules.toy_hypotest.output.cls,
        limits="results/inference/{model}/limits.json",
        code=code("plot_toy_hypotest"),
    output:
        figure=report(
            f"results/figures/toys/{{model}}_cls.{FIG}",
            caption="../report/toys_cls.rst",
            category="Pseudo-experiments",
            labels={"model": "{model}", "figure": "toy-based CLs"},
        ),
    log:
        "results/logs/plot_toy_hypotest/{model}.log",
    benchmark:
        "results/benchmarks/plot_toy_hypotest/{model}.tsv"
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
        entry_script("plot_toy_hypotest")
