"""The judge: one place that turns a graded function's outcomes into a verdict and feedback.

Used by the grader (on outcomes read back from the sandbox, :func:`judge_submission` for a whole submission) and by
the visible ``check()``
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
    """The verdict on one graded function: all or nothing, with the feedback's lines."""

    name: str
    points: int
    passed: bool
    cases_passed: int
    cases_total: int
    messages: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        return self.points if self.passed else 0


@dataclass
class SubmissionResult:
    """The verdicts on one submission, by function name, with what the run said about the notebook."""

    functions: dict[str, FunctionResult]
    cell_errors: dict[str, str]
    seconds: float
    notes: list[str] = field(default_factory=list)
    log_tail: str = ""  # the end of what the sandboxed process printed (for the instructor, not the feedback)

    @property
    def score(self) -> int:
        return sum(r.score for r in self.functions.values())


def case_failure(fn, case, expected, outcome: dict, cell_error: str | None = None) -> str | None:
    """What is wrong with ``outcome`` (``{"value": ...}`` or ``{"error": ...}``) for ``case``; None when it is right."""
    if "error" in outcome:
        failure = f"raised an error:\n{outcome['error']}"
        if "is not defined" in outcome["error"] and cell_error:
            failure += f"\n(its cell failed: {cell_error})"
        return failure
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
        failure = case_failure(fn, case, expected[i], outcomes[i], cell_error)
        if failure:
            failing.append(i)
            failures.append(f"case '{case.label}': {failure}")
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


def budget_line(fn, calibrated: tuple[float, float] | None, seconds: float | None) -> str | None:
    """What the feedback says about the time of a function whose budget was calibrated on the master's
    (``calibrated``: the master's seconds and the budget)."""
    if calibrated is None:
        return None
    master, budget = calibrated
    took = f"took {seconds:.2f} s of" if seconds is not None else "had"
    return (f"{fn.name} {took} its {budget:.2f} s budget ({fn.budget_vs_master:g} x the model solution's {master:.3f} s "
            f"on this machine, at least {fn.min_budget_s:g} s).")


def judge_submission(problem_set, references, run, calibrated: dict[str, tuple[float, float]]) -> SubmissionResult:
    """The verdicts on a whole submission: ``run`` (a ``runner.RunResult``) against ``references`` (a
    ``references.References`` of the same seed), with each calibrated function's time, and, for a function that
    failed while one it uses failed too, which one to fix first."""
    results = {}
    for name in run.wanted:
        fn = problem_set[name]
        results[name] = judge(fn, references.cases[name], references.expected[name], run.outcomes.get(name, "not run"),
                              run.cell_errors.get(name), references.variants[name])
    for name in run.wanted:
        line = budget_line(problem_set[name], calibrated.get(name), run.function_seconds.get(name))
        if line:
            results[name].messages.insert(1, line)
    for name, result in results.items():
        failed_uses = [u for u in problem_set[name].uses if u in results and not results[u].passed]
        if not result.passed and failed_uses:
            result.messages.insert(1, f"({name} uses {', '.join(failed_uses)}, which failed "
                                      f"{'its' if len(failed_uses) == 1 else 'their'} own cases: fix that first.)")
    return SubmissionResult(results, run.cell_errors, run.seconds, run.notes, run.log_tail)
