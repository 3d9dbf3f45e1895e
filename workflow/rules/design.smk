# Analysis design stage: a selection and binning trained end to end on the expected sensitivity,
# checked with hard cuts against pyhf; then its figure.


rule optimize_analysis:
    input:
        code=code("optimize_analysis"),
        events=design_inputs,
    output:
        design="results/design/{design}.json",
    log:
        "results/logs/optimize_analysis/{design}.log",
    benchmark:
        "results/benchmarks/optimize_analysis/{design}.tsv"
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=design_resource("mem_mb"),
        runtime=design_resource("runtime"),
        gpu=gpu_for("optimize_analysis"),
    params:
        design=design_config,
        cl=config["inference"]["cl"],
    script:
        entry_script("optimize_analysis")


rule plot_optimize_analysis:
    input:
        design=rules.optimize_analysis.output.design,
        code=code("plot_optimize_analysis"),
    output:
        figure=report(
            f"results/figures/design/{{design}}.{FIG}",
            caption="../report/design.rst",
            category="Analysis design",
            labels={"design": "{design}"},
        ),
    log:
        "results/logs/plot_optimize_analysis/{design}.log",
    benchmark:
        "results/benchmarks/plot_optimize_analysis/{design}.tsv"
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
        entry_script("plot_optimize_analysis")
