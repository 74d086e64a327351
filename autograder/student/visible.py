"""The checks a student runs in the notebook, from the same registry and judge as the grader.

``check("ps1", "predict", predict)`` runs your function on the visible cases (a fixed seed;
grading draws a fresh seed each run, with the same kinds of cases), compares with the
PyTorch reference through the grader's own judge and prints what is wrong, in the words the
grader's feedback will use. It raises AssertionError when a case fails, so a failing check
shows up red in the notebook.
"""
from __future__ import annotations

import copy
import inspect

from autograder.grading.references import expected_outputs
from autograder.student.edition.visible import driver_for, may_change_for, redefinition_warning  # as the edition's check
from autograder.grading.judge import judge
from autograder.registry import VISIBLE_SEED, get_problem_set
from autograder.sandbox.drivers import guard_inputs


def check(problem_set: str, name: str, function, seed: int = VISIBLE_SEED, namespace: dict | None = None) -> None:
    """Check ``function`` on the cases of ``seed``. ``namespace`` (default: the caller's globals, i.e. the
    notebook's) is where drivers find the student's other functions (a backward pass's forward)."""
    ps = get_problem_set(problem_set)
    fn = ps[name]
    if not callable(function):
        raise AssertionError(f"{name} is not a function")
    warning = redefinition_warning(name)
    if warning:
        print(warning)
    # the notebook's namespace, so a driver can call the student's other functions too
    if namespace is None:
        caller = inspect.currentframe().f_back
        namespace = caller.f_globals if caller else {}
    namespace = guard_inputs({**namespace, name: function}, {f.name: f.signature for f in ps.functions},
                             may_change_for(problem_set))
    drive = driver_for(problem_set, fn.driver)
    cases = fn.cases(seed)
    outcomes = []
    for case in cases:
        try:
            outcomes.append({"value": drive(namespace, name, copy.deepcopy(list(case.args)))})
        except NotImplementedError:
            raise AssertionError(f"{name} is not implemented yet") from None
        except Exception as error:  # report, then go on with the other cases
            outcomes.append({"error": f"{type(error).__name__}: {error}"})
    expected, variants = expected_outputs(fn, cases)
    verdict = judge(fn, cases, expected, outcomes, variants=variants, what="visible cases")
    if not verdict.passed:
        raise AssertionError("\n".join(verdict.messages))
    print(verdict.messages[0])
