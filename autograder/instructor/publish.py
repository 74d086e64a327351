"""``python -m autograder publish DIR``: the student edition, the repository students clone.

This repository is the instructor's: it holds the masters (``solutions/``), the registries with their PyTorch
references and case generators, the planted bugs beside full solutions (``samples/``), the gradebook and the roster.
The edition holds what students need and nothing that answers a graded function:

- the lectures (``course/``) and the releases (``assignments/``);
- a small ``autograder`` package: the visible check, which reads the visible cases, their expected outputs and the
  outputs of the known mistakes from fixtures computed here at the visible seed
  (``autograder/fixtures/<ps>.json`` and ``.npz``), and judges with the grader's own judge, comparison, drivers and
  codec; and ``make lab``;
- ``nbgrader_config.py`` (the exchange, for the Assignment List), a Makefile, a pyproject and a student README;
- with ``--solutions ps3``, ps3's master as ``solutions/ps3/ps3.ipynb``, its test cells as the release has them
  (any hidden-test block removed), for posting once the deadline has passed.

:func:`leaks` lists every master solution line, written answer and planted bug found in an edition; ``publish``
refuses to finish while there is one.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np

from autograder.config import Course
from autograder.errors import PublishError
from autograder.grading import codec
from autograder.grading.notebooks import SOLUTION_MARKERS, nbgrader_meta
from autograder.instructor.release_plugin import with_test_cells
from autograder.registry import PROBLEM_SET_NAMES, VISIBLE_SEED, get_problem_set

PACKAGE = Path(__file__).resolve().parent.parent
EDITION = PACKAGE / "student" / "edition"
MARKER = ".student-edition"
# the modules the visible check shares with the grader: no reference, no case generator, no solution in them
SHARED = ("grading/judge.py", "grading/compare.py", "sandbox/drivers.py", "sandbox/codec.py", "student/lab.py", "config.py",
          "errors.py")
HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.MULTILINE | re.DOTALL)
MIN_LEAK_CHARS = 20  # shorter lines ("return out, cache") are too common to mean anything


def fixture(problem_set: str) -> tuple[dict, dict[str, np.ndarray]]:
    """The visible cases of every graded function of ``problem_set``, with the reference's and the known mistakes'
    outputs, as JSON specs and arrays. Cases judged by a property (held-out accuracy, a draw's statistics) need the
    instructor's code to judge: they are counted, not included."""
    from autograder.grading.references import expected_outputs

    arrays: dict[str, np.ndarray] = {}
    functions = {}
    for fn in get_problem_set(problem_set).functions:
        every = fn.cases(VISIBLE_SEED)
        compared = [case for case in every if not fn.judged_by_check(case)]
        later = len(every) - len(compared)
        expected, variants = expected_outputs(fn, compared)
        cases = [{"label": case.label, "args": codec.encode(tuple(case.args), arrays),
                  "expected": codec.encode(expected[i], arrays),
                  "variants": {m.name: codec.encode(variants[m.name][i], arrays) for m in fn.misconceptions}}
                 for i, case in enumerate(compared)]
        prop = ((fn.check.__doc__ or "").strip().splitlines() or ["a property of the result"])[0] if fn.check else ""
        functions[fn.name] = {
            "signature": fn.signature, "returns": list(fn.returns), "points": fn.points, "rtol": fn.rtol,
            "atol": fn.atol, "driver": fn.driver, "sequence": fn.sequence,
            "misconceptions": [[m.name, m.explanation] for m in fn.misconceptions],
            "cases": cases, "judged_at_grading": later, "property": prop.rstrip("."),
        }
    return {"problem_set": problem_set, "seed": VISIBLE_SEED, "functions": functions}, arrays


def posted_solution(master_nb):
    """The master as posted after the deadline: its solutions and written answers, without the hidden-test blocks
    or the solution markers, no cell locked."""
    nb = nbformat.from_dict(json.loads(json.dumps(master_nb)))
    for cell in nb.cells:
        cell.source = SOLUTION_MARKERS.sub("", HIDDEN_TESTS.sub("", cell.source))
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def secret_lines(course: Course, problem_sets=PROBLEM_SET_NAMES) -> dict[str, str]:
    """{line: where it comes from} for what must never reach students: each line of every master's solutions and
    written answers that no release shows, and each line of the planted bugs and correct alternatives."""
    from autograder.authoring import samples

    found = {}
    given = {line.strip() for name in PROBLEM_SET_NAMES  # what the releases show students anyway
             for cell in nbformat.read(course.released(name), as_version=4).cells for line in cell.source.splitlines()}
    for name in problem_sets:
        master = nbformat.read(course.master(name), as_version=4)
        for cell in master.cells:
            meta = nbgrader_meta(cell)
            if not meta.get("solution") and "HIDDEN TESTS" not in cell.source:
                continue
            source = cell.source if meta.get("solution") else "\n".join(HIDDEN_TESTS.findall(cell.source))
            for line in SOLUTION_MARKERS.sub("", source).splitlines():
                line = line.strip()
                if len(line) >= MIN_LEAK_CHARS and line not in given and not line.startswith("#"):
                    found.setdefault(line, f"{name} master, cell {meta.get('grade_id')}")
        for function, entries in {**samples.mutants(name), **samples.alternatives(name)}.items():
            for entry in entries:
                for text in entry[1:]:
                    for line in (text if isinstance(text, str) else json.dumps(text)).splitlines():
                        line = line.strip()
                        if len(line) >= MIN_LEAK_CHARS and line not in given and not line.startswith("#"):
                            found.setdefault(line, f"{name} samples, {function}")
    return found


def leaks(edition: Path, course: Course, allowed: tuple[str, ...] = ()) -> list[str]:
    """Every secret line (see :func:`secret_lines`) in a text file of ``edition``, as "file: what it is", and every
    file that should not be there at all (samples, registries, the gradebook, the roster). The lectures are left to
    tests/test_lecture_guard.py, which tries their code itself; ``allowed`` are problem sets whose solutions are
    posted."""
    secrets = {line: where for line, where in secret_lines(course).items()
               if not any(where.startswith(f"{ps} ") for ps in allowed)}
    found = []
    for path in sorted(edition.rglob("*")):
        relative = path.relative_to(edition)
        if path.is_dir() or relative.parts[0] in ("course", ".git", ".venv", "work"):
            continue
        if relative.parts[0] == "solutions":
            if len(relative.parts) < 2 or relative.parts[1] not in allowed:
                found.append(f"{relative}: solutions of a problem set whose solutions are not posted")
            continue
        if "samples" in relative.parts or path.name in ("gradebook.db", "roster.csv") or \
                (relative.parts[:2] == ("autograder", "problemsets") and path.name == "__init__.py"
                 and path.stat().st_size > 0):
            found.append(f"{relative}: must not be in the student edition")
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        if path.suffix == ".ipynb":
            text = "\n".join(cell.get("source", "") if isinstance(cell.get("source"), str) else
                             "".join(cell.get("source", [])) for cell in json.loads(text).get("cells", []))
        for line in text.splitlines():
            where = secrets.get(line.strip())
            if where:
                found.append(f"{relative}: a line of the {where}: {line.strip()[:80]}")
                break
    return found


def _replace(target: Path) -> None:
    """Make ``target`` ready for a new edition: a new or empty folder, or an earlier edition (its marker file)."""
    if target.exists() and not target.is_dir():
        raise PublishError(f"{target} is a file, not a folder")
    if target.exists() and any(target.iterdir()):
        if not (target / MARKER).exists():
            raise PublishError(f"{target} is not empty and holds no earlier student edition ({MARKER}): choose a new "
                               f"folder, so that nothing of yours is overwritten")
        for child in target.iterdir():
            if child.name in (".git", ".venv", "work"):  # the edition's own history, its venv, a student's copies
                continue
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    target.mkdir(parents=True, exist_ok=True)


def publish(course: Course, target: Path, solutions: list[str] = (), log=print) -> Path:
    """Write the student edition into ``target`` (new, empty, or an earlier edition, which is replaced)."""
    target = Path(target).resolve()
    if target == course.root or course.root in target.parents and target.parent == course.root and \
            target.name in ("solutions", "assignments", "course", "autograder"):
        raise PublishError(f"{target} is part of the course itself: publish into a folder of its own")
    unknown = [ps for ps in solutions if ps not in PROBLEM_SET_NAMES]
    if unknown:
        raise PublishError(f"unknown problem set(s) {', '.join(unknown)} (have: {', '.join(PROBLEM_SET_NAMES)})")
    _replace(target)
    shutil.copytree(course.root / "course", target / "course", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name in PROBLEM_SET_NAMES:
        released = course.released(name)
        if not released.exists():
            raise PublishError(f"{name} has no release ({released.relative_to(course.root)}): run "
                               f"`python -m autograder release {name}` first")
        (target / "assignments" / name).mkdir(parents=True)
        shutil.copy(released, target / "assignments" / name / released.name)
    package = target / "autograder"
    for relative in SHARED:
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PACKAGE / relative, package / relative)
    for folder in ("", "grading", "sandbox", "problemsets", "student"):
        (package / folder).mkdir(parents=True, exist_ok=True)
        (package / folder / "__init__.py").touch()
    shutil.copy(EDITION / "visible.py", package / "student" / "visible.py")
    shutil.copy(EDITION / "main.py", package / "__main__.py")
    (package / "fixtures").mkdir()
    for name in PROBLEM_SET_NAMES:
        ps = get_problem_set(name)
        (package / "problemsets" / name).mkdir()
        (package / "problemsets" / name / "__init__.py").touch()
        if ps.drivers_file and ps.drivers_file.exists():
            shutil.copy(ps.drivers_file, package / "problemsets" / name / "drivers.py")
        document, arrays = fixture(name)
        (package / "fixtures" / f"{name}.json").write_text(json.dumps(document))
        np.savez_compressed(package / "fixtures" / f"{name}.npz", **arrays)
        log(f"  {name}: {sum(len(f['cases']) for f in document['functions'].values())} visible cases with their "
            f"expected outputs")
    for name in solutions:
        (target / "solutions" / name).mkdir(parents=True)
        master = with_test_cells(nbformat.read(course.master(name), as_version=4), name)  # the checks, as released
        nbformat.write(posted_solution(master), target / "solutions" / name / f"{name}.ipynb")
        log(f"  {name}: the master's solutions posted in solutions/{name}/")
    shutil.copy(course.root / "nbgrader_config.py", target / "nbgrader_config.py")
    for template, name in (("README.md", "README.md"), ("Makefile", "Makefile"), ("pyproject.toml", "pyproject.toml"),
                           ("gitignore", ".gitignore")):
        shutil.copy(EDITION / template, target / name)
    (target / MARKER).write_text("Written by `python -m autograder publish`; publishing again replaces this folder.\n")
    found = leaks(target, course, allowed=tuple(solutions))
    if found:
        raise PublishError("the edition would hand students what they must write themselves:\n  " +
                           "\n  ".join(found[:20]) + f"\n(nothing more was written; {target} is incomplete)")
    log(f"student edition written to {target}: no master line, written answer or planted bug in it")
    return target
