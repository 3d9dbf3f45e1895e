# Tables for papers and talks (LaTeX and Markdown) from the artifacts, like the figures.


rule table:
    input:
        unpack(table_inputs),
        code=code("table"),
    output:
        md="results/tables/{model}_{table}.md",
        tex="results/tables/{model}_{table}.tex",
    log:
        "results/logs/table/{model}_{table}.log",
    benchmark:
        "results/benchmarks/table/{model}_{table}.tsv"
    wildcard_constraints:
        table="yields|limits|ranking",
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
        gpu=0,
    params:
        top=table_top,
    script:
        entry_script("table")


rule grid_table:
    input:
        limits=rules.signal_grid.output.limits,
        code=code("grid_table"),
    output:
        md="results/tables/signal/{signal_grid}_limits.md",
        tex="results/tables/signal/{signal_grid}_limits.tex",
    log:
        "results/logs/grid_table/{signal_grid}.log",
    benchmark:
        "results/benchmarks/grid_table/{signal_grid}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
        gpu=0,
    script:
        entry_script("grid_table")


rule hepdata:
    input:
        unpack(hepdata_inputs),
        code=code("hepdata"),
    output:
        record=directory("results/hepdata"),
        archive="results/hepdata.tar.gz",
    log:
        "results/logs/hepdata.log",
    benchmark:
        "results/benchmarks/hepdata.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
        gpu=0,
    params:
        settings=hepdata_settings(),
    script:
        entry_script("hepdata")
