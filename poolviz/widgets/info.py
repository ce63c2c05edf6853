"""The words under the explorer's picture: what the error signal reached, and notes, as HTML."""
from __future__ import annotations

import numpy as np

from ..ops import get_op
from .params import INPUTS, TIES

__all__ = ["LIVE_TEXT", "escape_html", "info_html", "input_label", "note_html"]

#: What a page that shows neither the live explorer nor its picture says in its place (its ``text/plain``).
LIVE_TEXT = ("A live pooling explorer: it needs a running Python kernel (open the notebook in JupyterLab or "
             "Voila and run it).")


def input_label(kind: str) -> str:
    return "\u201c" + dict((v, k) for k, v in INPUTS)[kind] + "\u201d"


def note_html(note: str) -> str:
    return f"<div style='color:#0072B2'><b>Note:</b> {escape_html(note.rstrip('.'))}.</div>" if note else ""


def info_html(state, step, dx_shown, reached_share, unlabelled=()) -> str:
    """The line under the picture. While the player is stepping, the picture shows a partial backward: the
    step's own count comes first, and the whole backward's numbers are labelled as such."""
    run = state["run"]
    n_in, n_out = run.dx.size, run.y.size
    reached = int(np.count_nonzero(run.dx))
    spec = get_op(state["op"])
    rule = f", tie rule: <i>{dict((v, k) for k, v in TIES)[state['policy']]}</i>" if spec.breaks_ties else ""
    sums = escape_html(state["sum_text"])
    if not state["is_gradient"]:
        sums = f"<b style='color:#b2182b'>{sums}</b>"
    head = f"<b>{spec.label}</b>{rule}"
    many = len(unlabelled) > 1
    names = ", ".join(unlabelled[:-1]) + " and " + unlabelled[-1] if many else "".join(unlabelled)
    small = (f"; no numbers in the {names} panel{'s' * many}: {'their' if many else 'its'} cells are too small "
             f"for them (choose a smaller input)") if unlabelled else ""
    if step >= n_out:
        return (f"{head}: the error signal reaches <b>{reached} of {n_in}</b> inputs "
                f"({reached_share:.0%}); {sums}{small}")
    so_far = int(np.count_nonzero(dx_shown))
    return (f"{head}: <b>step {step} of {n_out}</b>, the error signal has reached <b>{so_far} of {n_in}</b> "
            f"inputs so far; <i>whole backward:</i> {reached} of {n_in} inputs ({reached_share:.0%}), {sums}{small}")


def escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
