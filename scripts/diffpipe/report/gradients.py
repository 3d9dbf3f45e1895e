"""The report's gradient section: pass counts, the table, control-flow agreement."""

from diffpipe.artifacts import ControlFlowTable, GradientTable
from diffpipe.report.html import embed, table


def gradients_context(gradients: GradientTable, flow: ControlFlowTable, figure: str) -> dict:
    """The gradient section: pass counts, the table, control-flow agreement and figure.

    Args:
        gradients: the gradient table.
        flow: the control-flow table.
        figure: the control-flow figure.

    Returns:
        Template values.
    """
    grads = gradients.table
    ft = flow.table
    diffs = flow.max_rel_diff
    return {
        "passed": int(grads["passed"].sum()),
        "total": len(grads),
        "table": table(grads, "passed"),
        "flow_points": len(ft),
        "flow_interval": flow.interval,
        "flow_threshold": flow.threshold,
        "flow_steps": flow.steps,
        "flow_diffs": diffs,
        "figure": embed(figure, "f and f' (jax.vmap of value_and_grad, analytic dotted)"),
    }


def gradients_summary(gradients: dict) -> tuple[list[dict], list[dict]]:
    """The gradient stage's summary row and notes.

    Args:
        gradients: `gradients_context`.

    Returns:
        (rows, notes) as `build.summary_context` lists them.
    """
    ok = gradients["passed"] == gradients["total"]
    row = {
        "stage": "Gradients",
        "anchor": "gradients",
        "headline": f"{gradients['passed']} of {gradients['total']} gradient components agree; "
        f"control flow: largest difference {max(gradients['flow_diffs'].values()):.1e}",
        "status": "pass" if ok else "fail",
    }
    notes = (
        []
        if ok
        else [{"anchor": "gradients", "status": "fail", "text": "gradient components disagree beyond tolerance"}]
    )
    return [row], notes
