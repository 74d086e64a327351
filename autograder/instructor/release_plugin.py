"""What ``release`` writes into the student version from the registry (an nbgrader preprocessor).

nbgrader's ``generate_assignment`` runs this first (see ``nbgrader_config.py``), so the points
of every graded function and its time budget come from the registry, the one source of truth:
the test cell below each function gets the registry's points, and a first line saying what
the hidden tests are worth and how long they may take. It cannot go stale, because every
release writes it again.
"""
from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool


def budget_line(fn, seconds: float) -> str:
    points = f"{fn.points} point{'s' if fn.points != 1 else ''}"
    return (f"# {fn.name}: {points}, all or nothing. Hidden tests: cases of the same kinds with other numbers; "
            f"time budget {seconds:g} s for all of them.")


class RegistryPoints(Preprocessor):
    """Points and time budgets from the registry into the graded functions' test cells."""

    enabled = Bool(True)  # nbconvert's preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        from autograder.registry import PROBLEM_SET_NAMES, get_problem_set

        name = resources.get("nbgrader", {}).get("assignment")
        if name not in PROBLEM_SET_NAMES:
            return nb, resources
        functions = {fn.test_grade_id: fn for fn in get_problem_set(name).functions}
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            fn = functions.get(meta.get("grade_id"))
            if fn is None or not meta.get("grade") or meta.get("solution"):
                continue
            meta["points"] = fn.points
            line = budget_line(fn, fn.time_limit_s)
            if not cell.source.startswith(line):
                cell.source = f"{line}\n{cell.source}"
        return nb, resources
