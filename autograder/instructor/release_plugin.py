"""What ``release`` writes into the student version from the registry (an nbgrader preprocessor).

nbgrader's ``generate_assignment`` runs this first (see ``nbgrader_config.py``), so every graded function's test
cell comes from the registry, the one source of truth. The master's test cell holds only nbgrader's metadata
(its grade_id ``test_<function>``, grade, locked) and a placeholder line (:data:`PLACEHOLDER`); the release gets
the whole cell written here: a first line saying what the hidden tests are worth and how long they may take, and
the visible check of that function, ``check("<ps>", "<function>", <function>)``; the cell's points are the
registry's. It cannot go stale or drift from the registry, because every release writes it again, and nbgrader's
own steps after this one lock it and compute its checksum on what was written here.

The harness grades from the registry and never runs a test cell. A master's test cell may still hold a
``### BEGIN HIDDEN TESTS`` block for nbgrader's own ``autograde`` (the throughput benchmark writes one into its
copy of the masters): it is kept after the written lines, so that nbgrader stores it in its gradebook, and
nbgrader's ClearHiddenTests removes it from the release.
"""
from __future__ import annotations

import copy
import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

PLACEHOLDER = "# release writes this test cell from the registry (autograder/instructor/release_plugin.py)"
"""The whole source of a graded function's test cell in a master."""

HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*$", re.MULTILINE | re.DOTALL)


def budget_line(fn, seconds: float) -> str:
    points = f"{fn.points} point{'s' if fn.points != 1 else ''}"
    return (f"# {fn.name}: {points}, all or nothing. Hidden tests: cases of the same kinds with other numbers; "
            f"time budget {seconds:g} s for all of them.")


def check_call(problem_set: str, fn) -> str:
    """The visible check of ``fn``, as the student's notebook calls it."""
    return f'check("{problem_set}", "{fn.name}", {fn.name})'


def released_source(problem_set: str, fn) -> str:
    """The source of ``fn``'s test cell in the release: its points and time budget, then its visible check."""
    return "\n".join([budget_line(fn, fn.time_limit_s), "from autograder.student.visible import check",
                      check_call(problem_set, fn)])


def _is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def write_test_cells(nb, problem_set: str, hidden_tests: bool = True):
    """Every graded function's test cell of ``nb`` (in place) written from the registry of ``problem_set``, with
    its points; a hidden-tests block already in the cell is kept after the written lines (``hidden_tests``) or
    dropped. Other cells are left alone. Returns ``nb``."""
    from autograder.registry import get_problem_set

    functions = {fn.test_grade_id: fn for fn in get_problem_set(problem_set).functions}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        fn = functions.get(meta.get("grade_id"))
        if fn is None or not _is_test_cell(cell):
            continue
        meta["points"] = fn.points
        blocks = HIDDEN_TESTS.findall(cell.source) if hidden_tests else []
        cell.source = "\n".join([released_source(problem_set, fn), *blocks])
    return nb


def with_test_cells(nb, problem_set: str, hidden_tests: bool = False):
    """A copy of a master with its test cells written as the release has them (to run it, or to post it)."""
    return write_test_cells(copy.deepcopy(nb), problem_set, hidden_tests=hidden_tests)


class RegistryPoints(Preprocessor):
    """The graded functions' test cells, with their points and time budgets, written from the registry."""

    enabled = Bool(True)  # nbconvert's preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        from autograder.registry import PROBLEM_SET_NAMES

        name = resources.get("nbgrader", {}).get("assignment")
        if name not in PROBLEM_SET_NAMES:
            return nb, resources
        return write_test_cells(nb, name), resources
