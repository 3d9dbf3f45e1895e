# The self-contained HTML report, built from every stage's artifacts.


rule report:
    input:
        unpack(report_inputs),
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
        problems=list(config["optimizers"]["problems"]),
        models=list(config["likelihood"]["models"]),
        fractals=list(config["fractals"]),
        pipeline_timing="results/benchmark/pipeline.json",
        runtimes="results/benchmarks",
    script:
        "../../scripts/report.py"
