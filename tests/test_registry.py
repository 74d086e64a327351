"""The registry is the single source of truth: the masters must agree with it."""
import ast

import pytest

from autograder.grading.notebooks import nbgrader_meta
from autograder.registry import PROBLEM_SET_NAMES, VISIBLE_SEED, get_problem_set
from autograder.authoring.samples import solution_sources


@pytest.mark.parametrize("name", PROBLEM_SET_NAMES)
def test_master_cells_match_the_registry(name, notebooks):
    ps = get_problem_set(name)
    master, release = notebooks[name]
    tests = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"] for c in master.cells
             if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")}
    assert tests == {fn.test_grade_id: fn.points for fn in ps.functions}
    for fn in ps.functions:
        test_cell = next(c for c in master.cells if nbgrader_meta(c).get("grade_id") == fn.test_grade_id)
        assert f'check("{name}", "{fn.name}", {fn.name})' in test_cell.source
        assert nbgrader_meta(test_cell)["locked"]


@pytest.mark.parametrize("name", PROBLEM_SET_NAMES)
def test_signatures_in_master_and_release_match_the_registry(name, notebooks):
    ps = get_problem_set(name)
    master, release = notebooks[name]
    for nb in (master, release):
        sources = {nbgrader_meta(c).get("grade_id"): c.source for c in nb.cells if nbgrader_meta(c).get("solution")}
        for fn in ps.functions:
            tree = ast.parse(sources[fn.name])
            defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == fn.name]
            assert defs, f"no def {fn.name} in its solution cell"
            args = ", ".join(a.arg for a in defs[0].args.args)
            assert f"{fn.name}({args})" == fn.signature
            assert ast.get_docstring(defs[0]), f"{fn.name} needs a docstring with shapes"


@pytest.mark.parametrize("name", PROBLEM_SET_NAMES)
def test_release_stubs_raise_not_implemented(name, notebooks):
    _, release = notebooks[name]
    for grade_id, source in solution_sources(release).items():
        assert "raise NotImplementedError()" in source, grade_id
        assert "BEGIN SOLUTION" not in source


@pytest.mark.parametrize("name", PROBLEM_SET_NAMES)
def test_cases_are_seeded_and_differ_between_visible_and_grading_seeds(name):
    ps = get_problem_set(name)
    for fn in ps.functions:
        a, b, c = fn.cases(VISIBLE_SEED), fn.cases(VISIBLE_SEED), fn.cases(12345)
        assert [x.label for x in a] == [x.label for x in c]
        assert len(a) >= 4, f"{fn.name} needs random cases and edge cases"
        same = all(_equal(x.args, y.args) for x, y in zip(a, b))
        differ = any(not _equal(x.args, y.args) for x, y in zip(a, c))
        assert same and differ, fn.name
        assert fn.rtol >= 0 and fn.atol >= 0


def _equal(x, y):
    import numpy as np

    if isinstance(x, (tuple, list)):
        return len(x) == len(y) and all(_equal(a, b) for a, b in zip(x, y))
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_equal(x[k], y[k]) for k in x)
    return np.array_equal(np.asarray(x), np.asarray(y))
