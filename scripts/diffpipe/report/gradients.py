"""The report's gradient section: pass counts, the table, control-flow agreement."""

from diffpipe.artifacts import ControlFlowTable, GradientTable
from diffpipe.report.html import embed, table


def gradients_context(
    gradients: GradientTable | None, flow: ControlFlowTable | None, figure: str | None
) -> dict | None:
    """The gradient section: pass counts and the table, control-flow agreement and its figure.

    Args:
        gradients: the gradient table (None: no `gradients.functions` in this config).
        flow: the control-flow table (None: no `controlflow` stage in this config).
        figure: the control-flow figure (None with `flow`).

    Returns:
        Template values, `components` and `flow` each None where its stage is off; None when
        both are.
    """
    if gradients is None and flow is None:
        return None
    components = None
    if gradients is not None:
        grads = gradients.table
        components = {"passed": int(grads["passed"].sum()), "total": len(grads), "table": table(grads, "passed")}
    flow_values = None
    if flow is not None:
        flow_values = {
            "points": len(flow.table),
            "interval": flow.interval,
            "threshold": flow.threshold,
            "steps": flow.steps,
            "diffs": flow.max_rel_diff,
            "figure": embed(figure, "f and f' (jax.vmap of value_and_grad, analytic dotted)"),
        }
    return {"components": components, "flow": flow_values}


def gradients_summary(gradients: dict | None) -> tuple[list[dict], list[dict]]:
    """The gradient stage's summary row and notes.

    Args:
        gradients: `gradients_context` (None: neither stage in this config).

    Returns:
        (rows, notes) as `build.summary_context` lists them.
    """
    if gradients is None:
        return [], []
    components, flow = gradients["components"], gradients["flow"]
    ok = components is None or components["passed"] == components["total"]
    parts = []
    if components is not None:
        parts.append(f"{components['passed']} of {components['total']} gradient components agree")
    if flow is not None:
        parts.append(f"control flow: largest difference {max(flow['diffs'].values()):.1e}")
    row = {
        "stage": "Gradients",
        "anchor": "gradients",
        "headline": "; ".join(parts),
        "status": "pass" if ok else "fail",
    }
    notes = (
        []
        if ok
        else [{"anchor": "gradients", "status": "fail", "text": "gradient components disagree beyond tolerance"}]
    )
    return [row], notes
