"""The checks a student runs in the notebook, from the same registry as the grader.

``check("ps1", "predict", predict)`` calls your function on the visible cases (a fixed
seed; grading uses a different one and the same kinds of cases), compares with the
PyTorch reference and prints what is wrong. It raises AssertionError when a case fails,
so a failing check shows up red in the notebook.
"""
from __future__ import annotations

import copy

from autograder.compare import compare_outputs
from autograder.device import run_reference
from autograder.registry import VISIBLE_SEED, get_problem_set
from autograder.sandbox.child import DRIVERS


def check(problem_set: str, name: str, function, seed: int = VISIBLE_SEED) -> None:
    fn = get_problem_set(problem_set)[name]
    if not callable(function):
        raise AssertionError(f"{name} is not a function")
    failures = []
    cases = fn.cases(seed)
    for case in cases:
        try:
            got = DRIVERS[fn.driver](function, copy.deepcopy(case.args))
        except NotImplementedError:
            raise AssertionError(f"{name} is not implemented yet") from None
        except Exception as error:  # report, then go on with the other cases
            failures.append(f"case '{case.label}': raised {type(error).__name__}: {error}")
            continue
        if fn.check is not None:
            problem = fn.check(case, got)
        else:
            problem = compare_outputs(fn.returns, run_reference(fn, case), got, fn.rtol, fn.atol)
        if problem:
            failures.append(f"case '{case.label}': {problem}")
    if failures:
        raise AssertionError(f"{name}: {len(failures)} of {len(cases)} cases failed\n" + "\n".join(failures))
    print(f"{name}: all {len(cases)} visible cases passed.")
