"""Checkers for the course's exercises: run a learner's function on targeted cases, explain failures.

Every checker takes the learner's function (or None) and returns a :class:`CheckResult`:

* ``result.passed`` is a bool (``bool(result)`` too);
* ``str(result)`` is the explanation: for each failed case, which case it was, the input,
  what was expected, what came back, and the likely cause;
* in a notebook it displays as a short coloured report (``_repr_html_``), in IPython as text.

``None``, or a function that raises ``NotImplementedError`` on every case (the exercise
stub), gives "not attempted yet" instead of an error, so lesson notebooks run cleanly
with the exercises unsolved. A function that raises it on some cases only (a first
version without padding, say) is reported case by case: those cases fail as "not
implemented yet" and the cases it passes still count.

The learner's function may leave out keyword arguments it does not support (a first
version of ``max_pool_backward`` often has no ``padding``): the checker passes only the
keywords the function accepts, found with :func:`inspect.signature`, and skips, with a
note, the cases that need a keyword it lacks.

How a failure is diagnosed: for each case the checker can also compute what common mistakes would
return (overwriting instead of accumulating where windows overlap, every tied maximum receiving the
gradient, zero padding instead of -inf, a negative index or slice start that wraps around, skipping the
last window, a transposed index, the stride ignored or replaced by the kernel size, the padding not
subtracted from the window start or ignored altogether, ...). If the learner's answer equals one of them,
that mistake is named; if it equals two made together (a missing bounds check and an overwrite, say), both
are; otherwise the first differing position is shown. An answer of the wrong kind (a tuple, a pair in the
wrong order, a string, a ragged list, a float where a count is expected, a finite difference where a
derivative is expected) is explained in words, never with a traceback.

Honesty, for graded use: a case in which the learner's function calls poolviz's own implementation of the
exercise fails, and the report says so, however the function was reached (``from poolviz import ...``
included). Each checker's docstring says what it allows (the backward exercises may call the forward).

The rooms: :mod:`.report` (what a checker returns), :mod:`.runner` (how a case is run and judged),
:mod:`.honesty` (which poolviz functions the learner's function called), :mod:`.mistakes` (the models of
typical mistakes, on :mod:`poolviz.reference`'s window walk and tie rule), :mod:`.pooling` and
:mod:`.formulas`, :mod:`.fast`, :mod:`.smooth`, :mod:`.steps` and :mod:`.unpool` (the cases and checkers of each exercise).
"""
from __future__ import annotations

from .fast import check_vectorised_max_pool_backward
from .formulas import check_max_derivative, check_output_size
from .pooling import check_avg_pool_backward, check_max_pool_backward, check_max_pool_forward
from .report import CaseReport, CheckResult
from .smooth import check_lse_backward
from .steps import check_safe_step
from .unpool import check_max_unpool

__all__ = [
    "CaseReport",
    "CheckResult",
    "check_avg_pool_backward",
    "check_lse_backward",
    "check_max_derivative",
    "check_max_pool_backward",
    "check_max_pool_forward",
    "check_max_unpool",
    "check_safe_step",
    "check_vectorised_max_pool_backward",
    "check_output_size",
]
