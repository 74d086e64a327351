"""assignments/ is exactly what nbgrader generates from solutions/ (never edited by hand)."""
import copy

import nbformat
import pytest
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

from autograder.instructor.release_plugin import PLACEHOLDER, RegistryPoints, released_source
from autograder.registry import PROBLEM_SET_NAMES, get_problem_set


def _strip(nb):
    """Notebook content that matters: cell types, sources, nbgrader metadata."""
    return [(c.cell_type, c.source, c.metadata.get("nbgrader"), c.metadata.get("tags")) for c in nb.cells]


@pytest.fixture(scope="module")
def fresh_release(template):
    """The test run's template course: every problem set released from the masters with
    `python -m autograder release` (see conftest.py)."""
    return template


@pytest.mark.parametrize("name", PROBLEM_SET_NAMES)
def test_committed_release_equals_a_fresh_generation(name, fresh_release, repo):
    fresh = nbformat.read(fresh_release / "assignments" / name / f"{name}.ipynb", as_version=4)
    committed = nbformat.read(repo / "assignments" / name / f"{name}.ipynb", as_version=4)
    assert _strip(committed) == _strip(fresh), (
        f"assignments/{name} is stale: run `python -m autograder release {name}` and commit the result")
    assert committed == fresh


@pytest.mark.parametrize("folder", ["solutions", "assignments"])
def test_committed_notebooks_have_no_outputs(folder, repo):
    for path in (repo / folder).rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path


def test_release_hides_solutions_and_hidden_tests(repo):
    for path in (repo / "assignments").rglob("*.ipynb"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        assert "grading_seed" not in text


@pytest.mark.parametrize("name", PROBLEM_SET_NAMES)
def test_release_test_cells_are_written_from_the_registry(name, repo):
    """The master's test cells are placeholders; each graded function's test cell in the release is the one the
    release plugin writes from the registry (points and budget, then the visible check), locked, with the
    registry's points and nbgrader's checksum of that very source (nbgrader computes it after the plugin ran)."""
    released = nbformat.read(repo / "assignments" / name / f"{name}.ipynb", as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in released.cells}
    for fn in get_problem_set(name).functions:
        cell = cells[fn.test_grade_id]
        meta = cell.metadata["nbgrader"]
        assert cell.source == released_source(name, fn)
        assert cell.source.endswith(f'from autograder.student.visible import check\ncheck("{name}", "{fn.name}", '
                                    f'{fn.name})')
        assert meta["points"] == fn.points and meta["locked"] and meta["grade"] and not meta["solution"]
        assert meta["checksum"] == utils.compute_checksum(cell), fn.test_grade_id


def test_the_plugin_writes_the_test_cell_and_keeps_a_hidden_tests_block_for_nbgrader(notebooks):
    """Whatever a master's test cell says, the release plugin writes it from the registry; a hidden-tests block in
    it (for nbgrader's own autograde) is kept after the written lines, and nbgrader's ClearHiddenTests then leaves
    exactly the written cell for the student."""
    master, _ = notebooks["ps1"]
    nb = copy.deepcopy(master)
    first, second = get_problem_set("ps1").functions[:2]
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    assert cells[first.test_grade_id].source == PLACEHOLDER
    block = "### BEGIN HIDDEN TESTS\ncheck('ps1', 'x', x, seed=7)\n### END HIDDEN TESTS"
    cells[first.test_grade_id].source = f"{PLACEHOLDER}\n{block}"
    cells[second.test_grade_id].source = 'check("ps1", "stale_name", f)'
    cells[second.test_grade_id].metadata["nbgrader"]["points"] = 99
    nb, _ = RegistryPoints().preprocess(nb, {"nbgrader": {"assignment": "ps1"}})
    assert cells[first.test_grade_id].source == f"{released_source('ps1', first)}\n{block}"
    assert cells[second.test_grade_id].source == released_source("ps1", second)
    assert cells[second.test_grade_id].metadata["nbgrader"]["points"] == second.points
    cell, _ = ClearHiddenTests().preprocess_cell(cells[first.test_grade_id], {}, 0)
    assert cell.source == released_source("ps1", first)
    untouched = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_")]
    assert untouched == [c for c in master.cells
                         if not c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_")]
