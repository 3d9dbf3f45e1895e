# The self-contained HTML report, built from the declared artifacts only.


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
