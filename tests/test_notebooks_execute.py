"""Every notebook runs top to bottom: lectures in under 60 s, masters without error,
releases failing only where the student has work to do."""
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
LECTURES = sorted((REPO / "course").glob("*.ipynb"))
MASTERS = sorted((REPO / "solutions").rglob("*.ipynb"))
RELEASES = sorted((REPO / "assignments").rglob("*.ipynb"))


def execute(path: Path, allow_errors: bool = False, timeout: int = 120):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - started


@pytest.mark.parametrize("path", LECTURES, ids=[p.name for p in LECTURES])
def test_lecture_runs_in_under_a_minute(path):
    _, seconds = execute(path)
    assert seconds < 60, f"{path.name} took {seconds:.1f} s"


@pytest.mark.parametrize("path", MASTERS, ids=[p.parent.name for p in MASTERS])
def test_master_runs_without_error_and_passes_its_checks(path):
    nb, _ = execute(path, timeout=300)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("visible cases passed" in o.get("text", "") for o in outputs)


@pytest.mark.parametrize("path", RELEASES, ids=[p.parent.name for p in RELEASES])
def test_release_fails_only_where_work_is_left(path):
    nb, _ = execute(path, allow_errors=True, timeout=300)
    for cell in nb.cells:
        errors = [o for o in cell.outputs if o.output_type == "error"] if cell.cell_type == "code" else []
        meta = cell.metadata.get("nbgrader", {})
        for error in errors:
            assert meta.get("solution") or meta.get("grade") or "grader-skip" in cell.metadata.get("tags", []), \
                f"a provided cell fails in the release: {cell.source[:80]!r}"
            assert error.ename in ("NotImplementedError", "AssertionError", "NameError"), error.ename
            if error.ename == "AssertionError":
                assert "not implemented yet" in error.evalue
