"""Honest checking: notice when a learner's function calls poolviz's own implementation instead of computing.

``check_max_pool_backward(lambda g, x, k: pv.max_pool2d_backward(g, x, k))`` would pass every case, so
graded use needs the checker to see it. Replacing ``poolviz.max_pool2d_backward`` by a tripwire does not
work: a learner who wrote ``from poolviz import max_pool2d_backward`` earlier holds the function itself.
What cannot be dodged is the call: while the learner's function runs (and only then), a profile hook
(:func:`sys.setprofile`, restored in a ``finally``) sees every Python function that starts, and notes the
ones whose code lives in poolviz's modules.

Only the *entry* into poolviz counts: the first poolviz function the learner's code calls. An allowed entry
(say the forward, in a backward exercise) shields everything it calls in turn, so poolviz's own internals
are not held against the learner. An entry into a neutral module (pictures, styles, checks of arguments)
shields nothing: a picture that computes a backward for the learner is still noticed.

Which modules are judged, and which of their functions are allowed, is each checker's choice, written in
its :class:`Policy` and stated in its docstring and its report.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

__all__ = ["OP_MODULES", "Calls", "Policy", "call_watched", "public_name"]

#: The poolviz package's folder: a code object whose file lies under it is poolviz's.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

#: The modules that compute pooling, its gradients or its routing, and the checkers' own models of the
#: right answer (a mistake model with every mistake switched off is the reference). A call into any of
#: them is judged; a call into another poolviz module (plots, widgets, style, data, checks, paths,
#: geometry unless a policy adds it) is neutral.
OP_MODULES = frozenset({
    "poolviz.max_pool", "poolviz.avg_pool", "poolviz.smooth_pool", "poolviz._fast", "poolviz.windows",
    "poolviz.reference", "poolviz.ties", "poolviz.routing", "poolviz.gradcheck", "poolviz.ops",
    "poolviz.exercises.mistakes",
})


@dataclass(frozen=True)
class Policy:
    """What a checker does not accept from poolviz inside the learner's function.

    ``judged``: module names (a package name covers its modules) whose functions may not be called;
    ``allowed``: public names (as :func:`public_name` gives them) that may be called all the same;
    ``allowed_text``: how the report names them; ``why_allowed``: why, a clause starting with "since".
    """

    judged: frozenset = OP_MODULES
    allowed: frozenset = frozenset()
    allowed_text: str = ""
    why_allowed: str = ""
    _verdicts: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def verdict(self, code) -> tuple[str, str]:
        """``("forbidden" | "allowed" | "neutral" | "import", public name)`` for a code object of poolviz's."""
        known = self._verdicts.get(code)
        if known is None:
            name = public_name(code)
            module = _module_of(code.co_filename)
            if code.co_name == "<module>":
                kind = "import"
            elif not any(module == m or module.startswith(m + ".") for m in self.judged):
                kind = "neutral"
            else:
                kind = "allowed" if name in self.allowed else "forbidden"
            known = self._verdicts[code] = (kind, name)
        return known


def _module_of(filename: str) -> str:
    """The dotted module name of a file inside the poolviz package."""
    parts = os.path.splitext(os.path.relpath(filename, _ROOT))[0].split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["poolviz", *parts])


def public_name(code) -> str:
    """How a learner would name the function of ``code``: ``poolviz.max_pool2d_backward`` if poolviz exports
    it at the top, else its module and qualified name, e.g. ``poolviz.routing.jacobian``."""
    exported = getattr(sys.modules.get("poolviz"), code.co_name, None)  # the facade, without importing it here
    if getattr(exported, "__code__", None) is code:
        return f"poolviz.{code.co_name}"
    return f"{_module_of(code.co_filename)}.{getattr(code, 'co_qualname', code.co_name)}"


@dataclass
class Calls:
    """The poolviz functions a learner's function entered while it ran, in first-call order."""

    forbidden: list = field(default_factory=list)
    allowed: list = field(default_factory=list)


def call_watched(fn, args, kwargs, policy: Policy, calls: Calls):
    """``fn(*args, **kwargs)``, noting in ``calls`` each poolviz function it enters (see the module docstring).

    Returns what ``fn`` returns and raises what it raises. The hook is installed just before the call and the
    previous one (normally none) put back just after, so nothing outside the learner's function is watched;
    it costs a few tenths of a microsecond per function call the learner's code makes.
    """
    shield = None  # the frame of the allowed (or importing) poolviz function now running, if any
    root, verdict = _ROOT, policy.verdict

    def hook(frame, event, arg):
        nonlocal shield
        if event == "call":
            if shield is None and frame.f_code.co_filename.startswith(root):
                kind, name = verdict(frame.f_code)
                if kind == "forbidden":
                    if name not in calls.forbidden:
                        calls.forbidden.append(name)
                    shield = frame  # what it calls is its own business: one report per entry
                elif kind in ("allowed", "import"):
                    if kind == "allowed" and name not in calls.allowed:
                        calls.allowed.append(name)
                    shield = frame
        elif event == "return" and frame is shield:
            shield = None

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        return fn(*args, **kwargs)
    finally:
        sys.setprofile(previous)
