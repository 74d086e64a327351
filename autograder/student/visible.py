"""The checks a student runs in the notebook, from the same registry and judge as the grader.

``check("ps1", "predict", predict)`` runs your function on the visible cases (a fixed seed;
grading draws a fresh seed each run, with the same kinds of cases), compares with the
PyTorch reference through the grader's own judge and prints what is wrong, in the words the
grader's feedback will use. It raises AssertionError when a case fails, so a failing check
shows up red in the notebook.
"""
from __future__ import annotations

import inspect

from autograder.grading.references import expected_outputs
from autograder.student.edition.visible import driver_for, prepared_namespace, run_cases  # as the edition's check
from autograder.grading.judge import judge
from autograder.registry import VISIBLE_SEED, get_problem_set


def check(problem_set: str, name: str, function, seed: int = VISIBLE_SEED, namespace: dict | None = None) -> None:
    """Check ``function`` on the cases of ``seed``. ``namespace`` (default: the caller's globals, i.e. the
    notebook's) is where drivers find the student's other functions (a backward pass's forward)."""
    ps = get_problem_set(problem_set)
    fn = ps[name]
    # the notebook's namespace, so a driver can call the student's other functions too
    if namespace is None:
        caller = inspect.currentframe().f_back
        namespace = caller.f_globals if caller else {}
    namespace = prepared_namespace(problem_set, name, function, namespace, {f.name: f.signature for f in ps.functions})
    cases = fn.cases(seed)
    outcomes = run_cases(driver_for(problem_set, fn.driver), namespace, name, cases)
    expected, variants = expected_outputs(fn, cases)
    verdict = judge(fn, cases, expected, outcomes, variants=variants, what="visible cases")
    if not verdict.passed:
        raise AssertionError("\n".join(verdict.messages))
    print(verdict.messages[0])
