"""The registry is the single source of truth: the masters must agree with it."""
import ast

import numpy as np
import pytest

from autograder.grading.notebooks import nbgrader_meta
from autograder.registry import PROBLEM_SET_NAMES, VISIBLE_SEED, GradedFunction, get_problem_set
from autograder.authoring.samples import solution_sources


@pytest.mark.parametrize("name", PROBLEM_SET_NAMES)
def test_master_cells_match_the_registry(name, notebooks):
    """The master has one test cell for each graded function (grade_id ``test_<function>``), after its function's
    solution cell and before the next function's, locked, with the registry's points and nothing but the
    placeholder: the release writes the cell (its check, points and budget) from the registry, so nothing in the
    master can drift from it."""
    from autograder.instructor.release_plugin import PLACEHOLDER, released_source

    ps = get_problem_set(name)
    master, release = notebooks[name]
    found = [(nbgrader_meta(c)["grade_id"], (i, c)) for i, c in enumerate(master.cells)
             if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")]
    assert sorted(grade_id for grade_id, _ in found) == sorted(fn.test_grade_id for fn in ps.functions)
    tests = dict(found)
    solutions = {nbgrader_meta(c)["grade_id"]: i for i, c in enumerate(master.cells)
                 if c.cell_type == "code" and nbgrader_meta(c).get("solution")}
    released = {nbgrader_meta(c).get("grade_id"): c for c in release.cells}
    previous = -1
    for fn in sorted(ps.functions, key=lambda fn: solutions[fn.name]):  # the master's order
        index, cell = tests[fn.test_grade_id]
        meta = nbgrader_meta(cell)
        assert cell.cell_type == "code" and meta["locked"] and meta["points"] == fn.points, fn.test_grade_id
        assert cell.source == PLACEHOLDER, f"{fn.test_grade_id}: the release writes this cell; leave the placeholder"
        assert previous < solutions[fn.name] < index, f"{fn.test_grade_id} does not follow the cell of {fn.name}"
        previous = index
        assert released[fn.test_grade_id].source == released_source(name, fn)
        assert nbgrader_meta(released[fn.test_grade_id])["points"] == fn.points


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


def _scaled(value, factor):
    """The reference's output ``value`` with every number multiplied by ``factor`` (0: a stub's answer of zeros)."""
    if isinstance(value, dict):
        return {key: _scaled(v, factor) for key, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_scaled(v, factor) for v in value)
    return np.asarray(value) * factor


COMPUTED_ZERO = 1e-7  # a right answer of 0 as a reference computes it: an arccos near 1 gives about 3e-8


def _nothing_to_tell(value) -> bool:
    """Whether no wrong answer can be told from ``value`` by scaling it: every number in it is 0 (up to rounding)
    or infinite."""
    if isinstance(value, dict):
        return all(_nothing_to_tell(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return all(_nothing_to_tell(v) for v in value)
    numbers = np.asarray(value, dtype=float)
    return bool(np.all((np.abs(numbers) < COMPUTED_ZERO) | ~np.isfinite(numbers)))


@pytest.mark.parametrize("name", PROBLEM_SET_NAMES)
def test_the_tolerances_tell_a_wrong_answer_on_every_case(name):
    """An answer of zeros, and one off by 1 % everywhere, fail every case compared with the reference (unless the
    right answer is itself 0 or infinite): a tolerance that lets either through checks nothing on that case."""
    from autograder.grading.compare import compare_outputs
    from autograder.grading.references import run_reference

    for fn in get_problem_set(name).functions:
        if fn.reference is None:
            continue
        for case in fn.cases(VISIBLE_SEED):
            if fn.judged_by_check(case):
                continue
            expected = run_reference(fn, case)
            if _nothing_to_tell(expected):
                continue
            for wrong, factor in (("zeros", 0.0), ("1 % off", 1.01)):
                passed = compare_outputs(fn.returns, expected, _scaled(expected, factor), fn.rtol, fn.atol,
                                         fn.sequence) is None
                assert not passed, (f"{fn.name}, case {case.label!r}: an answer of {wrong} passes "
                                    f"rtol={fn.rtol}, atol={fn.atol}")


@pytest.mark.parametrize("rtol, atol", [(-1e-6, 1e-8), (1e-6, float("nan")), (float("inf"), 0.0), (1e-6, "1e-8")])
def test_an_entry_with_a_tolerance_that_is_not_a_finite_number_at_least_0_is_refused(rtol, atol):
    with pytest.raises(ValueError, match="bad_entry: (rtol|atol) must be a finite number >= 0"):
        GradedFunction(name="bad_entry", signature="bad_entry(x)", returns=("y",), points=1,
                       make_cases=lambda rng: [], reference=None, rtol=rtol, atol=atol)


def test_entries_take_their_fields_by_name():
    """Eleven fields of one type or another: an entry names each, so none can land in its neighbour's place."""
    with pytest.raises(TypeError):
        GradedFunction("f", "f(x)", ("y",), 1, lambda rng: [], None)


def _equal(x, y):
    import numpy as np

    if isinstance(x, (tuple, list)):
        return len(x) == len(y) and all(_equal(a, b) for a, b in zip(x, y))
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_equal(x[k], y[k]) for k in x)
    return np.array_equal(np.asarray(x), np.asarray(y))
