"""The judge: one place that turns a graded function's outcomes into a verdict and feedback.

Used by the grader (on outcomes read back from the sandbox) and by the visible ``check()``
in the student's notebook (on outcomes computed in the student's kernel), so both say the
same thing in the same words. Messages name the case, the expected and the actual shape,
and the first place the answer departs, never how the reference computes it. When a
failing answer matches a *known wrong convention* of the registry entry (a flipped kernel,
a summed instead of averaged gradient...), the feedback names that convention and nothing
more of the solution.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from autograder.grading.compare import compare_outputs

MAX_FAILED_CASES_SHOWN = 3


@dataclass
class FunctionResult:
    name: str
    points: int
    passed: bool
    cases_passed: int
    cases_total: int
    messages: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        return self.points if self.passed else 0


def case_problem(fn, case, expected, outcome: dict, cell_error: str | None = None) -> str | None:
    """None when ``outcome`` (``{"value": ...}`` or ``{"error": ...}``) is right for ``case``."""
    if "error" in outcome:
        problem = f"raised an error:\n{outcome['error']}"
        if "is not defined" in outcome["error"] and cell_error:
            problem += f"\n(its cell failed: {cell_error})"
        return problem
    if fn.judged_by_check(case):
        return fn.check(case, outcome["value"], expected)
    return compare_outputs(fn.returns, expected, outcome["value"], fn.rtol, fn.atol, fn.sequence)


def _empty(value) -> bool:
    """A returned value made of empty arrays only (a tuple or list of them, or one)."""
    import numpy as np

    items = value if isinstance(value, (tuple, list)) else (value,)
    return bool(items) and all(isinstance(v, np.ndarray) and v.size == 0 for v in items)


def misconception_of(fn, failing: list[int], outcomes, variants: dict[str, list], cases=None) -> str | None:
    """The first known wrong convention whose outputs the student's failing answers reproduce (on the cases
    compared with the reference: a case judged by a property, such as held-out accuracy, tells nothing)."""
    if cases is not None:
        failing = [i for i in failing if not fn.judged_by_check(cases[i])]
    if not failing:
        return None
    for misconception in fn.misconceptions:
        outputs = variants.get(misconception.name)
        if outputs is None:
            continue
        # every failing answer is the variant's; where the variant itself is undefined (it raised: a window
        # larger than the input, say), the student's code must have raised too, or returned nothing (only empty
        # arrays: how a loop says there is no window); and one answer must match
        def reproduced(i):
            if outputs[i] is None:
                return "error" in outcomes[i] or ("value" in outcomes[i] and _empty(outcomes[i]["value"]))
            return "value" in outcomes[i] and compare_outputs(fn.returns, outputs[i], outcomes[i]["value"], fn.rtol,
                                                              fn.atol, fn.sequence) is None
        if all(reproduced(i) for i in failing) and any(outputs[i] is not None for i in failing):
            return misconception.explanation
    return None


def judge(fn, cases, expected, outcomes, cell_error: str | None = None, variants: dict | None = None,
          what: str = "cases") -> FunctionResult:
    """The verdict on one graded function: every case must pass.

    ``outcomes`` is one dict per case (``{"value": v}`` or ``{"error": message}``), or a string
    saying why the function could not be run at all."""
    if isinstance(outcomes, str):
        return FunctionResult(fn.name, fn.points, False, 0, len(cases), [f"{fn.name}: {outcomes}."])
    outcomes = [outcomes[i] if i < len(outcomes) and isinstance(outcomes[i], dict) else
                {"error": "no result for this case"} for i in range(len(cases))]
    failures, failing = [], []
    for i, case in enumerate(cases):
        problem = case_problem(fn, case, expected[i], outcomes[i], cell_error)
        if problem:
            failing.append(i)
            failures.append(f"case '{case.label}': {problem}")
    if not failures:
        return FunctionResult(fn.name, fn.points, True, len(cases), len(cases),
                              [f"{fn.name}: all {len(cases)} {what} passed."])
    messages = [f"{fn.name}: {len(failures)} of {len(cases)} {what} failed."]
    hint = misconception_of(fn, failing, outcomes, variants or {}, cases)
    if hint:
        messages.append(f"Your answers match a known mistake: {hint}")
    messages += failures[:MAX_FAILED_CASES_SHOWN]
    if len(failures) > MAX_FAILED_CASES_SHOWN:
        messages.append(f"... and {len(failures) - MAX_FAILED_CASES_SHOWN} more failing case(s).")
    return FunctionResult(fn.name, fn.points, False, len(cases) - len(failures), len(cases), messages)
