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
        test_statistic=config["inference"]["test_statistic"],
        start=toy_start,
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


# The toy-based limit: its mu points (around the asymptotic limits), then rounds of toys. Each
# round's plan is a checkpoint that reads the parts made so far and names the parts the round
# adds; a part's toys depend only on its point and index, so a tighter target adds parts.
rule toy_limit_points:
    input:
        model_inputs,
        limits="results/inference/{model}/limits.json",
        code=code("toy_limit_points"),
    output:
        points="results/toys/{model}/limit/points.json",
    log:
        "results/logs/toy_limit_points/{model}.log",
    benchmark:
        "results/benchmarks/toy_limit_points/{model}.tsv"
    priority: 10
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=2000,
        runtime=10,
        gpu=0,
    params:
        model=model_definition,
        settings=lambda wildcards: {"points": toy_limit_config(wildcards)["points"]},
        test_statistic=config["inference"]["test_statistic"],
    script:
        entry_script("toy_limit_points")


rule toy_limit_part:
    input:
        model_inputs,
        points=rules.toy_limit_points.output.points,
        code=code("toy_limit_part"),
    output:
        part="results/toys/{model}/limit/point{point}-{part}.npz",
    log:
        "results/logs/toy_limit_part/{model}-{point}-{part}.log",
    benchmark:
        "results/benchmarks/toy_limit_part/{model}-{point}-{part}.tsv"
    wildcard_constraints:
        point=r"\d+",
        part=r"\d+",
    priority: 10
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=toy_limit_mem_mb,
        runtime=toy_limit_runtime,
        gpu=gpu_for("toys"),
    params:
        model=model_definition,
        seed=lambda wildcards: toys_config(wildcards)["seed"],
        size=lambda wildcards: toy_limit_config(wildcards)["toys_per_round"],
        test_statistic=config["inference"]["test_statistic"],
        start=toy_start,
    script:
        entry_script("toy_limit_part")


checkpoint toy_limit_plan:
    input:
        points=rules.toy_limit_points.output.points,
        parts=toy_limit_plan_parts,
        code=code("toy_limit_plan"),
    output:
        plan="results/toys/{model}/limit/round{round}.json",
    log:
        "results/logs/toy_limit_plan/{model}-{round}.log",
    benchmark:
        "results/benchmarks/toy_limit_plan/{model}-{round}.tsv"
    wildcard_constraints:
        round=r"\d+",
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
        gpu=0,
    params:
        settings=toy_limit_stopping,
        cl=config["inference"]["cl"],
        next_plan=lambda w: f"results/toys/{w.model}/limit/round{int(w.round) + 1}.json",
        merged=lambda w: f"results/toys/{w.model}/limit.json",
    script:
        entry_script("toy_limit_plan")


rule toy_limit:
    input:
        unpack(toy_limit_inputs),
        points=rules.toy_limit_points.output.points,
        code=code("toy_limit"),
    output:
        limit="results/toys/{model}/limit.json",
    log:
        "results/logs/toy_limit/{model}.log",
    benchmark:
        "results/benchmarks/toy_limit/{model}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
        gpu=0,
    params:
        settings=toy_limit_config,
        cl=config["inference"]["cl"],
    script:
        entry_script("toy_limit")


rule plot_toy_limit:
    input:
        limit=rules.toy_limit.output.limit,
        limits="results/inference/{model}/limits.json",
        code=code("plot_toy_limit"),
    output:
        figure=report(
            f"results/figures/toys/{{model}}_limit.{FIG}",
            caption="../report/toys_limit.rst",
            category="Pseudo-experiments",
            labels={"model": "{model}", "figure": "toy-based limit"},
        ),
    log:
        "results/logs/plot_toy_limit/{model}.log",
    benchmark:
        "results/benchmarks/plot_toy_limit/{model}.tsv"
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
        entry_script("plot_toy_limit")
