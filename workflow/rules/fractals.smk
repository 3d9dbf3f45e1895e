# Fractal stage: escape counts per configured fractal, then images.


rule fractal:
    input:
        code=code("fractal"),
    output:
        counts="results/fractals/{fractal}/counts.npz",
    log:
        "results/logs/fractal/{fractal}.log",
    benchmark:
        "results/benchmarks/fractal/{fractal}.tsv"
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=fractal_mem_mb,
        runtime=fractal_runtime,
        gpu=gpu_for("fractal"),
    params:
        fractal=fractal_config,
    script:
        entry_script("fractal")


rule plot_fractal:
    input:
        counts=rules.fractal.output.counts,
        code=code("plot_fractal"),
    output:
        image=report(
            "results/fractals/{fractal}/image.png",
            caption="../report/fractal.rst",
            category="Fractals",
            labels={"fractal": "{fractal}"},
        ),
    log:
        "results/logs/plot_fractal/{fractal}.log",
    benchmark:
        "results/benchmarks/plot_fractal/{fractal}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=plot_fractal_mem_mb,
        runtime=plot_fractal_runtime,
        gpu=0,
    params:
        figures=figure_style(colormap=True),
    script:
        entry_script("plot_fractal")


rule plot_fractals:
    input:
        counts=expand(rules.fractal.output.counts, fractal=list(config["fractals"])),
        code=code("plot_fractals"),
    output:
        figure=report(
            f"results/figures/fractals.{FIG}",
            caption="../report/fractals.rst",
            category="Fractals",
            labels={"fractal": "all, side by side"},
        ),
    log:
        "results/logs/plot_fractals.log",
    benchmark:
        "results/benchmarks/plot_fractals.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=plot_fractals_job(config["fractals"])["mem_mb"],
        runtime=plot_fractals_job(config["fractals"])["runtime"],
        gpu=0,
    params:
        figures=figure_style(colormap=True),
    script:
        entry_script("plot_fractals")
