# Gradient stage: one gradient, four ways; and gradients through Python control flow.


rule gradients:
    input:
        code=code("gradients"),
        user_code=gradients_user_code,
    output:
        table="results/gradients/gradients.csv",
    log:
        "results/logs/gradients.log",
    benchmark:
        "results/benchmarks/gradients.tsv"
    priority: 20
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=3000,
        runtime=15,
        gpu=gpu_for("gradients"),
    params:
        gradients=config["gradients"],
    script:
        entry_script("gradients")


rule controlflow:
    input:
        code=code("controlflow"),
    output:
        table="results/gradients/controlflow.csv",
    log:
        "results/logs/controlflow.log",
    benchmark:
        "results/benchmarks/controlflow.tsv"
    priority: 20
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=3000,
        runtime=15,
        gpu=gpu_for("controlflow"),
    params:
        controlflow=config.get("controlflow"),
    script:
        entry_script("controlflow")


rule plot_controlflow:
    input:
        table=rules.controlflow.output.table,
        code=code("plot_controlflow"),
    output:
        figure=report(
            f"results/figures/controlflow.{FIG}",
            caption="../report/controlflow.rst",
            category="Gradients",
        ),
    log:
        "results/logs/plot_controlflow.log",
    benchmark:
        "results/benchmarks/plot_controlflow.tsv"
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
        entry_script("plot_controlflow")
