"""What a checker hands back: one :class:`CaseReport` per case, gathered in a :class:`CheckResult`.

A :class:`CheckResult` reads as text (``str``), as a short coloured report in a notebook
(``_repr_html_``) and as the same text in IPython (``_repr_pretty_``).
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

__all__ = ["CaseReport", "CheckResult"]


@dataclass
class CaseReport:
    """The outcome of one case: ``status`` is "passed", "failed" or "skipped"; ``detail`` explains."""

    name: str
    status: str
    detail: str = ""


@dataclass
class CheckResult:
    """What a checker found. ``passed`` is a bool; ``str(result)`` explains in words."""

    exercise: str
    passed: bool
    attempted: bool
    cases: list = field(default_factory=list)
    note: str = ""

    MAX_DETAILS = 3
    """Failed cases explained in full; the rest are listed by name (one mistake often fails many cases)."""

    def __bool__(self) -> bool:
        return self.passed

    @property
    def failed_cases(self) -> list:
        return [c for c in self.cases if c.status == "failed"]

    def headline(self) -> str:
        if not self.attempted:
            return f"{self.exercise}: not attempted yet"
        run = [c for c in self.cases if c.status != "skipped"]
        skipped = len(self.cases) - len(run)
        if self.passed:
            return (f"{self.exercise}: PASSED all {len(run)} cases"
                    + (f" ({skipped} skipped: they need keywords your function does not take)" if skipped else ""))
        return f"{self.exercise}: FAILED {len(self.failed_cases)} of {len(run)} case(s)"

    def __str__(self) -> str:
        lines = [self.headline()]
        if self.note:
            lines.append("  " + self.note)
        mark = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}
        shown = 0
        for case in self.cases:
            lines.append(f"  [{mark[case.status]}] {case.name}")
            if case.status == "failed" and shown >= self.MAX_DETAILS:
                continue
            if case.detail and case.status != "passed":
                lines.extend("         " + line for line in case.detail.splitlines())
                shown += case.status == "failed"
        hidden = len(self.failed_cases) - shown
        if hidden > 0:
            lines.append(f"  (details of {hidden} more failed case(s) left out: fix the first ones, then run again)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<CheckResult {self.headline()}>"

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))

    def _repr_html_(self) -> str:
        # Colour plus a word ("PASSED"/"FAILED"), so the verdict survives greyscale and colour blindness.
        colour = "#1a7f37" if self.passed else ("#6e7781" if not self.attempted else "#b35900")
        body = html.escape(str(self).split("\n", 1)[1]) if "\n" in str(self) else ""
        head = html.escape(self.headline())
        pre = f'<pre style="margin:0.3em 0 0 0">{body}</pre>' if body else ""
        return (f'<div style="border-left:4px solid {colour};padding:0.2em 0.6em">'
                f'<b style="color:{colour}">{head}</b>{pre}</div>')
