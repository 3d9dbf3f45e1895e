# Fractal stage: escape counts per configured fractal, then images.


rule fractal:
    input:
        code=helpers("artifacts", "runtime"),
    output:
        counts="results/fractals/{fractal}/counts.npy",
    log:
        "results/logs/fractal/{fractal}.log",
    benchmark:
        "results/benchmarks/fractal/{fractal}.tsv"
    conda:
        "../../environment.yml"
    threads: compute_threads()
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=gpu_for("fractal"),
    params:
        fractal=fractal_config,
    script:
        "../../scripts/fractals.py"


rule plot_fractal:
    input:
        counts=rules.fractal.output.counts,
        code=helpers("figstyle", "fractals", "artifacts"),
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
        mem_mb=2000,
        runtime=5,
        gpu=0,
    params:
        fractal=fractal_config,
        figures=config["figures"],
    script:
        "../../scripts/plot_fractals.py"


rule plot_fractals:
    input:
        counts=expand(
            "results/fractals/{fractal}/counts.npy", fractal=list(config["fractals"])
        ),
        code=helpers("figstyle", "fractals", "artifacts"),
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
        mem_mb=2000,
        runtime=5,
        gpu=0,
    params:
        names=list(config["fractals"]),
        fractals=config["fractals"],
        figures=config["figures"],
    script:
        "../../scripts/plot_fractals.py"
