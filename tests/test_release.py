"""assignments/ is exactly what nbgrader generates from solutions/ (never edited by hand)."""
import nbformat
import pytest

from autograder.registry import PROBLEM_SET_NAMES


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
