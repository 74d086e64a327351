"""Every notebook runs top to bottom: lectures in under a minute of computing, masters without
error, releases failing only where the student has work to do."""
import resource
import time
import warnings
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from conftest import EXECUTED_LECTURES

from autograder.instructor.release_plugin import with_test_cells

REPO = Path(__file__).resolve().parent.parent
LECTURES = sorted((REPO / "course").glob("*.ipynb"))
MASTERS = sorted((REPO / "solutions").rglob("*.ipynb"))
RELEASES = sorted((REPO / "assignments").rglob("*.ipynb"))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def why_it_stopped(cell: list, stderr_path: Path, error: Exception) -> str:
    """What the kernel did: the cell it was running, how its process ended (a signal, an exit code, or still
    running), and the end of what it wrote to stderr."""
    import signal as signals

    process = cell[2] if cell else None  # the provisioner forgets its process once it has reaped it
    code = process.poll() if process is not None else None
    if code is None:
        end = "the kernel process was still running"
    elif code < 0:
        end = f"the kernel process was killed by {signals.Signals(-code).name}" + \
            (" (out of memory? the kernel's limit or the machine's OOM killer)" if -code == signals.SIGKILL else "")
    else:
        end = f"the kernel process exited with code {code}"
    where = f"cell {cell[0]}: {cell[1]!r}" if cell else "before the first cell"
    try:
        tail = stderr_path.read_text(errors="replace")[-1500:].strip()
    except OSError:
        tail = ""
    return f"{type(error).__name__} at {where}; {end}" + (f"; its stderr ended with:\n{tail}" if tail else "")


def execute(path: Path, allow_errors: bool = False, timeout: int = 90, tries: int = 2, prepare=None):
    """Run a notebook in a fresh kernel; (notebook, wall seconds, CPU seconds of the kernel).

    A cell that gets no reply within ``timeout``, or a kernel that dies, is tried once more in a fresh
    kernel: on a busy machine the kernel protocol has been seen to lose a reply and wait forever (ipykernel
    7, now excluded in pyproject.toml); a notebook that really hangs fails both times. Either way the message
    says which cell it was and how the kernel's process ended (signal, exit code), with its stderr.
    ``prepare`` (notebook -> notebook) changes the notebook before it runs."""
    import tempfile

    for attempt in range(tries):
        nb = nbformat.read(path, as_version=4)
        nb = prepare(nb) if prepare else nb
        running: list = []  # [index, first line] of the cell being run, and the kernel's process
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                                resources={"metadata": {"path": str(path.parent)}},
                                on_cell_start=lambda cell, cell_index: running.__init__(
                                    [cell_index, cell.source.splitlines()[0][:80] if cell.source else "",
                                     client.km.provisioner.process]))
        started, cpu = time.perf_counter(), _children_cpu()
        with tempfile.NamedTemporaryFile(prefix=f"kernel-{path.stem}-", suffix=".stderr") as stderr:
            try:
                client.execute(stderr=stderr)  # shuts the kernel down and reaps it, so its CPU time is counted
            except (CellTimeoutError, DeadKernelError) as error:
                reason = why_it_stopped(running, Path(stderr.name), error)
                if attempt == tries - 1:
                    raise AssertionError(f"{path.name}: {reason}") from error
                warnings.warn(f"{path.name}: {reason}, after {time.perf_counter() - started:.0f} s; "
                              f"trying once more in a fresh kernel")
                continue
        return nb, time.perf_counter() - started, _children_cpu() - cpu


@pytest.mark.parametrize("path", LECTURES, ids=[p.name for p in LECTURES])
def test_lecture_runs_in_under_a_minute(path):
    """Judged on the kernel's CPU time, which a busy machine does not inflate the way it does wall time
    (a lecture takes about 4-10 s of either on an idle 2-core machine)."""
    nb, wall, cpu = execute(path)
    EXECUTED_LECTURES[path.stem] = nb  # the site test builds its pages from these
    assert cpu < 60, f"{path.name} used {cpu:.1f} s of CPU ({wall:.1f} s of wall time)"


@pytest.mark.parametrize("path", MASTERS, ids=[p.parent.name for p in MASTERS])
def test_master_runs_without_error_and_passes_its_checks(path):
    # the master's test cells are placeholders: they run as the release writes them, from the registry
    nb, _, _ = execute(path, prepare=lambda master: with_test_cells(master, path.parent.name))
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("visible cases passed" in o.get("text", "") for o in outputs)


def release_problems(nb) -> list[str]:
    """What is wrong with an executed release: it may fail only where the student has work to do.

    Every graded function's check cell fails with "not implemented yet"; a solution cell or a
    grader-skip cell (a demo that calls the student's code) may raise NotImplementedError and
    nothing else; every other cell runs cleanly."""
    problems = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        meta = cell.metadata.get("nbgrader", {})
        where = meta.get("grade_id") or cell.source[:60]
        if meta.get("grade") and not meta.get("solution"):
            if not (errors and errors[0].ename == "AssertionError" and "not implemented yet" in errors[0].evalue):
                problems.append(f"check cell {where!r} does not say the function is not implemented yet: "
                                f"{[(e.ename, e.evalue) for e in errors]}")
        elif meta.get("solution") or "grader-skip" in cell.metadata.get("tags", []):
            problems += [f"cell {where!r} fails with {e.ename}: {e.evalue}" for e in errors
                         if e.ename != "NotImplementedError"]
        else:
            problems += [f"a provided cell fails: {where!r}: {e.ename}: {e.evalue}" for e in errors]
    return problems


@pytest.mark.parametrize("path", RELEASES, ids=[p.parent.name for p in RELEASES])
def test_release_fails_only_where_work_is_left(path):
    nb, _, _ = execute(path, allow_errors=True)
    assert release_problems(nb) == []


def test_the_release_check_catches_what_it_should():
    """release_problems on hand-made executed notebooks: each fault is named, a clean release is not."""
    def code(source, error=None, **nbgrader):
        cell = nbformat.v4.new_code_cell(source)
        if nbgrader:
            cell.metadata["nbgrader"] = nbgrader
        if error:
            cell.outputs = [nbformat.v4.new_output("error", ename=error[0], evalue=error[1], traceback=[])]
        return cell

    def notebook(*cells):
        nb = nbformat.v4.new_notebook()
        nb.cells = list(cells)
        return nb

    stub = code("def f(x):\n    raise NotImplementedError()", solution=True, grade_id="f")
    check = code("check(...)", ("AssertionError", "f is not implemented yet"), grade=True, grade_id="test_f")
    assert release_problems(notebook(code("import numpy as np"), stub, check)) == []
    faults = {
        "provided cell": notebook(code("import nope", ("ModuleNotFoundError", "No module named 'nope'")), stub, check),
        "typo in a check cell": notebook(stub, code("chek(...)", ("NameError", "name 'chek' is not defined"),
                                                    grade=True, grade_id="test_f")),
        "check cell that passes": notebook(stub, code("check(...)", grade=True, grade_id="test_f")),
        "solution cell with another error": notebook(
            code("def f(x):\n    retrun", ("SyntaxError", "invalid syntax"), solution=True, grade_id="f"), check),
    }
    for what, nb in faults.items():
        assert release_problems(nb), what


def test_a_kernel_that_dies_says_why(tmp_path):
    """A lecture whose kernel dies names the cell, the signal and the kernel's stderr, not just "Kernel died"."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("import os, signal, sys\nsys.__stderr__.write('last words\\n')\n"
                                          "sys.__stderr__.flush()\nos.kill(os.getpid(), signal.SIGSEGV)")]
    path = tmp_path / "dies.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(AssertionError) as error:
        execute(path, tries=1)
    assert "DeadKernelError at cell 1: 'import os, signal, sys'" in str(error.value), error.value
    assert "killed by SIGSEGV" in str(error.value) and "last words" in str(error.value), error.value
