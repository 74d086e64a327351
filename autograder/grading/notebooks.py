"""Reading submissions and building the notebooks the harness runs and returns.

A submission is untrusted input: it may be invalid JSON, huge, or have its cells
reordered, retyped, deleted or their metadata changed. Nothing here executes it. The
program the sandbox runs is rebuilt from the *master*: its provided code cells as the
instructor wrote them, and, for each solution cell, the source of the student's cell
with the same ``grade_id``. The autograded notebook is rebuilt from the *release*
the same way, so points, locks and test cells always come from the instructor.
"""
from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import nbformat

from autograder.errors import SubmissionError  # noqa: F401 (raised here)
from autograder.grading import untrusted
from autograder.grading.judge import SubmissionResult
from autograder.grading.runner import Cell

MAX_NOTEBOOK_BYTES = 20 * 2 ** 20
SKIP_TAG = "grader-skip"  # master cells (plots, demos) the grader does not run
MAX_CELL_CHARS = 200_000  # a solution cell's source (the import scan and the IPython transform cost memory in proportion)
BODY_MAGICS = {"time", "timeit", "capture", "prun", "memit"}  # cell magics whose body is plain Python
SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def read_submission(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES) -> nbformat.NotebookNode:
    """A submitted notebook, read through the bounded reader (size, nesting depth, shape)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SubmissionError(f"{path.name} is {size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
        raw = untrusted.read_file(path, max_bytes)
    except OSError as error:
        raise SubmissionError(f"cannot open {path.name}: {error.strerror}") from None
    except untrusted.Untrusted as error:
        raise SubmissionError(f"cannot open {path.name}: {error}") from None
    try:
        return untrusted.load_notebook(raw, max_bytes=max_bytes, name=path.name)
    except untrusted.Untrusted as error:
        raise SubmissionError(str(error)) from None


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    value = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return value if isinstance(value, dict) else {}


def cell_source(cell) -> str:
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def student_sources(student_nb) -> dict[tuple[str, str], str]:
    """The student's cells by (grade_id, cell_type); the first one wins."""
    found: dict[tuple[str, str], str] = {}
    for cell in (student_nb.get("cells", []) if student_nb else []):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if isinstance(grade_id, str) and isinstance(cell, dict):
            found.setdefault((grade_id, cell.get("cell_type")), cell_source(cell))
    return found


def _python_source(source: str) -> str:
    """IPython syntax (line magics, !shell) as plain Python; only text is transformed here."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # hostile text (deep nesting, huge lines): the sandbox reports what it is
        return source


def _cell_magic(grade_id: str, source: str) -> tuple[str, str | None]:
    """A solution cell that starts with a cell magic, as Jupyter would run it: the body of the
    magics that only time, capture or profile runs as plain Python; a cell of another language
    (%%html, %%bash...) defines nothing here. The note says what was ignored, for the feedback."""
    lines = source.lstrip().split("\n", 1)
    match = re.match(r"%%(\w+)", lines[0]) if lines else None
    if not match:
        return source, None
    name, body = match.group(1), lines[1] if len(lines) > 1 else ""
    if name in BODY_MAGICS:
        return body, f"The cell magic %%{name} in '{grade_id}' was ignored while grading; its body ran as plain Python."
    return "", f"The cell '{grade_id}' starts with %%{name}, so it is not Python; it defined nothing while grading."


# what a cell the student added keeps while grading: its definitions, never its experiments
DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
CONSTANT_NODES = (ast.Constant, ast.Name, ast.Attribute, ast.Load, ast.Tuple, ast.List, ast.Set, ast.Dict,
                  ast.UnaryOp, ast.BinOp, ast.operator, ast.unaryop)
MAX_ADDED_CELLS = 50


def _constant_assignment(statement) -> bool:
    """``EPS = 1e-8``, ``KERNEL: int = 3``, ``dtype = np.float64``: a name bound to literals, names and arithmetic,
    with no call in it."""
    if isinstance(statement, ast.Assign):
        targets, value = statement.targets, statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        targets, value = [statement.target], statement.value
    else:
        return False
    names = all(isinstance(t, ast.Name) or isinstance(t, ast.Tuple) and all(isinstance(e, ast.Name) for e in t.elts)
                for t in targets)
    return names and all(isinstance(node, CONSTANT_NODES) for node in ast.walk(value))


def added_definitions(source: str) -> tuple[str, int]:
    """(the Python that a cell the student added contributes, how many of its statements were left out).

    Such a cell runs for its imports, its function and class definitions and its constant assignments, each
    guarded so that one that fails (an import the sandbox does not have) costs nothing; the rest (experiments,
    plots, timings, calls) is left out, so that it can neither take the grading's time nor break a function."""
    if len(source) > MAX_CELL_CHARS or "\0" in source:
        return "", 1
    source, _ = _cell_magic("added", source)
    try:
        tree = ast.parse(_python_source(source))
        kept = [s for s in tree.body if isinstance(s, DEFINITIONS) or _constant_assignment(s)]
        guarded = [ast.Try(body=[s], handlers=[ast.ExceptHandler(type=ast.Name("Exception", ast.Load()), name=None,
                                                                  body=[ast.Pass()])], orelse=[], finalbody=[])
                   for s in kept]
        module = ast.fix_missing_locations(ast.Module(body=guarded, type_ignores=[]))
        return ast.unparse(module), len(tree.body) - len(kept)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "", 1


def added_cells(master_nb, student_nb) -> dict[int, list[str]]:
    """The code cells the student added, by the index of the master cell they follow (-1: before the first).

    A cell is the student's own when it has no grade_id and its id is not one of the master's; where it sits is
    the nearest cell above it that the master has (by grade_id, or by id)."""
    ids = {cell.get("id"): i for i, cell in enumerate(master_nb.cells) if cell.get("id")}
    grade_ids = {nbgrader_meta(cell).get("grade_id"): i for i, cell in enumerate(master_nb.cells)
                 if nbgrader_meta(cell).get("grade_id")}
    found: dict[int, list[str]] = {}
    anchor, count = -1, 0
    for cell in (student_nb.get("cells", []) if student_nb else []):
        if not isinstance(cell, dict):
            continue
        grade_id, cell_id = nbgrader_meta(cell).get("grade_id"), cell.get("id")
        if isinstance(grade_id, str) and grade_id in grade_ids:
            anchor = grade_ids[grade_id]
        elif isinstance(cell_id, str) and cell_id in ids:
            anchor = ids[cell_id]
        elif grade_id is None and cell.get("cell_type") == "code" and count < MAX_ADDED_CELLS:
            count += 1
            found.setdefault(anchor, []).append(cell_source(cell))
    return found


def program_cells(master_nb, student_nb) -> list[Cell]:
    """The code the sandbox runs, in the master's order: the master's provided cells as the
    instructor wrote them, the student's solution cells by grade_id, and the definitions of the
    cells the student added (``added_definitions``) where they sit in the student's notebook."""
    theirs = student_sources(student_nb)
    added = added_cells(master_nb, student_nb)
    cells, skipped = [], 0

    def add_theirs(index):
        nonlocal skipped
        for source in added.get(index, []):
            code, left_out = added_definitions(source)
            skipped += left_out
            if code:
                cells.append(Cell(f"added-{len(cells)}", code))

    add_theirs(-1)
    for index, cell in enumerate(master_nb.cells):
        _master_cell(cells, theirs, index, cell)
        add_theirs(index)
    if skipped:
        cells.append(Cell("added-notes", "", note=(
            f"In the cells you added, {skipped} statement(s) other than imports, function and class definitions and "
            "constant assignments were skipped while grading (experiments, plots and timings do not run).")))
    return cells


def _master_cell(cells, theirs, index, cell):
    """Appends what the master's cell ``index`` contributes: its own code, or the student's solution."""
    if cell.cell_type != "code" or SKIP_TAG in cell.metadata.get("tags", []):
        return
    meta = nbgrader_meta(cell)
    if meta.get("grade") and not meta.get("solution"):
        return  # test cells: the harness grades instead
    if meta.get("solution"):
        grade_id = meta["grade_id"]
        source = theirs.get((grade_id, "code"))
        if source is None:
            return
        if len(source) > MAX_CELL_CHARS:
            cells.append(Cell(grade_id, "", unfit=f"this cell cannot be graded: it has {len(source)} characters; "
                                                   f"the limit is {MAX_CELL_CHARS}"))
            return
        source, note = _cell_magic(grade_id, source)
        cells.append(Cell(grade_id, _python_source(source), note=note))
    else:
        cells.append(Cell(meta.get("grade_id", f"provided-{index}"), _python_source(cell.source)))


def _error_output(ename: str, lines: list[str]):
    return nbformat.v4.new_output("error", ename=ename, evalue=lines[0] if lines else "", traceback=lines)


def autograded_notebook(release_nb, student_nb, result: SubmissionResult | None, unreadable: str | None = None):
    """The release notebook with the student's answers and the harness's verdicts.

    Test cells get the harness's message as output: a plain stream when the function
    passed, an error output when it failed (nbgrader scores an error as 0 points).
    """
    nb = copy.deepcopy(release_nb)
    theirs = student_sources(student_nb)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if meta.get("solution"):
            cell.source = theirs.get((grade_id, cell.cell_type), cell.source)
            if result and grade_id in result.cell_errors and cell.cell_type == "code":
                cell.outputs = [_error_output("CellError", result.cell_errors[grade_id].splitlines())]
        elif meta.get("grade") and cell.cell_type == "code":
            name = grade_id.removeprefix("test_")
            verdict = result.functions.get(name) if result else None
            if verdict is None:
                cell.outputs = [_error_output("NotGraded", [unreadable or f"{name} was not graded."])]
            elif verdict.passed:
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="\n".join(verdict.messages) + "\n")]
            else:
                cell.outputs = [_error_output("GradingFailure", verdict.messages)]
    if unreadable:
        note = nbformat.v4.new_markdown_cell(f"**Autograder:** {unreadable}")
        nb.cells.insert(0, note)
    elif result and result.notes:
        lines = "\n".join(f"- {n}" for n in result.notes)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**Autograder notes:**\n\n{lines}"))
    return nb


# ------------------------------------------------------------------ the master as a submission
def solution_sources(master_nb) -> dict[str, str]:
    """Each solution cell's code as a student would write it (the markers removed)."""
    return {nbgrader_meta(c)["grade_id"]: SOLUTION_MARKERS.sub("", c.source)
            for c in master_nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("solution")}


def answer_sources(master_nb) -> dict[str, str]:
    """The master's model answers to the hand-graded questions."""
    return {nbgrader_meta(c)["grade_id"]: SOLUTION_MARKERS.sub("", c.source)
            for c in master_nb.cells if c.cell_type == "markdown" and nbgrader_meta(c).get("solution")}


def fill(release_nb, answers: dict[str, str]):
    """A copy of the release with the given cells (by grade_id) answered."""
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def full_solution(master_nb, release_nb):
    """The release answered with the master's solutions: the control submission of every grading run."""
    return fill(release_nb, {**solution_sources(master_nb), **answer_sources(master_nb)})
