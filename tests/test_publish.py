"""The student edition (`python -m autograder publish DIR`): what students clone holds the lectures, the releases and
their visible checks, and no master, planted bug or reference; its checks say what the instructor's say."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.authoring import samples
from autograder.config import Course
from autograder.instructor.publish import leaks, secret_lines
from autograder.registry import PROBLEM_SET_NAMES, get_problem_set
from conftest import free_port, make_course, stop_group

REPO = Path(__file__).resolve().parent.parent
CHECK = REPO / "tests" / "edition_check.py"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    root = make_course(tmp_path_factory.mktemp("instructor") / "course")
    shutil.copytree(REPO / "course", root / "course")
    return Course.load(root)


@pytest.fixture(scope="module")
def edition(course, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("published") / "dl-course"
    run = subprocess.run([sys.executable, "-m", "autograder", "publish", str(target), "--solutions", "ps1"],
                         cwd=course.root, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no master line, written answer or planted bug in it" in run.stdout
    return target


def edition_verdicts(edition: Path, notebook: Path, problem_set: str) -> dict[str, str]:
    """{function: "passed: ..." or "failed: ..."} from the edition's own check, run with the edition's package first
    on the path (as a student's kernel has it), never the instructor's registry."""
    env = {**os.environ, "PYTHONPATH": str(edition)}
    run = subprocess.run([sys.executable, str(CHECK), str(notebook), problem_set], cwd=edition, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["module"] == str(edition / "autograder" / "student" / "visible.py") and not result["registry"], result
    return result["verdicts"]


def test_the_edition_holds_no_master_sample_or_reference(edition, course):
    files = {str(p.relative_to(edition)) for p in edition.rglob("*") if p.is_file()}
    assert {f"assignments/{ps}/{ps}.ipynb" for ps in PROBLEM_SET_NAMES} <= files
    assert {f"course/{p.name}" for p in (REPO / "course").glob("*.ipynb")} <= files
    assert {"Makefile", "README.md", "pyproject.toml", "nbgrader_config.py", "autograder/student/visible.py"} <= files
    assert [f for f in files if f.startswith("solutions/")] == ["solutions/ps1/ps1.ipynb"]
    assert not [f for f in files if "samples" in f or f.endswith((".db", "roster.csv"))]
    package = [f for f in files if f.startswith("autograder/problemsets/")]
    assert all(f.endswith("drivers.py") or (edition / f).stat().st_size == 0 for f in package), package
    code = "\n".join((edition / f).read_text() for f in files if f.startswith("autograder/") and f.endswith(".py"))
    assert "torch" not in code and "def run_reference" not in code and "make_cases" not in code
    assert leaks(edition, course, allowed=("ps1",)) == []
    posted = nbformat.read(edition / "solutions" / "ps1" / "ps1.ipynb", as_version=4)
    text = "\n".join(c.source for c in posted.cells)
    assert "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text and "fresh_seed" not in text
    master = samples.solution_sources(nbformat.read(course.master("ps1"), as_version=4))
    assert master["predict"].strip() in text, "the posted solutions hold the master's code"
    assert 'check("ps1", "predict", predict)' in text, "the posted solutions run the checks, as the release does"


def test_the_leak_check_finds_a_planted_leak(edition, course, tmp_path):
    """The control: a line of a master's solution pasted into a release, a planted bug's file and a master posted
    without --solutions are each found."""
    copy = tmp_path / "edition"
    shutil.copytree(edition, copy)
    secret = next(line for line, where in secret_lines(course).items()
                  if where.startswith("ps3 master") and "test_" not in where)
    nb = nbformat.read(copy / "assignments" / "ps2" / "ps2.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(f"def helper(x):\n    {secret}\n"))
    nbformat.write(nb, copy / "assignments" / "ps2" / "ps2.ipynb")
    (copy / "autograder" / "problemsets" / "ps4" / "samples").mkdir()
    shutil.copy(REPO / "autograder" / "problemsets" / "ps4" / "samples" / "__init__.py",
                copy / "autograder" / "problemsets" / "ps4" / "samples" / "__init__.py")
    found = leaks(copy, course)
    assert any(f.startswith("assignments/ps2/ps2.ipynb: a line of the ps3 master") for f in found), found
    assert any("samples" in f for f in found), found
    assert any(f.startswith("solutions/ps1/ps1.ipynb") for f in found), "a posted master counts without --solutions"
    assert not any(f.startswith("solutions/") for f in leaks(copy, course, allowed=("ps1",)))


@pytest.mark.parametrize("problem_set", PROBLEM_SET_NAMES)
def test_every_visible_check_runs_in_the_edition_and_says_what_the_instructors_says(edition, course, notebooks,
                                                                                   problem_set, tmp_path):
    master, release = notebooks[problem_set]
    ps = get_problem_set(problem_set)
    full = tmp_path / "full.ipynb"
    nbformat.write(samples.full_solution(master, release), full)
    verdicts = edition_verdicts(edition, full, problem_set)
    assert set(verdicts) == {fn.name for fn in ps.functions}
    assert all(v.startswith("passed") for v in verdicts.values()), verdicts
    untouched = edition_verdicts(edition, REPO / "assignments" / problem_set / f"{problem_set}.ipynb", problem_set)
    assert all("is not implemented yet" in v or "judged at grading only" in v for v in untouched.values()), untouched
    # a planted bug in a function the edition can check: the same failure, in the same words, as the instructor's
    from autograder.student.visible import check as instructors_check

    for name, entries in samples.mutants(problem_set).items():
        if not any(not ps[name].judged_by_check(c) for c in ps[name].cases(0)):
            continue
        _, old, new = entries[0]
        buggy = tmp_path / "buggy.ipynb"
        nbformat.write(samples.with_mutant(master, release, name, old, new), buggy)
        theirs = edition_verdicts(edition, buggy, problem_set)[name]
        namespace = {}
        for cell in nbformat.read(buggy, as_version=4).cells:
            if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade") and \
                    "grader-skip" not in cell.metadata.get("tags", []):
                exec(compile("\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith("%")),
                             "<cell>", "exec"), namespace)
        with pytest.raises(AssertionError) as ours:
            instructors_check(problem_set, name, namespace[name], namespace=namespace)
        assert theirs == f"failed: {ours.value}", (name, theirs, str(ours.value))
        break


def test_make_lab_runs_in_the_edition(edition, tmp_path):
    """The edition's `python -m autograder lab` (what its `make lab` runs) starts JupyterLab on work/, with every
    lecture and problem set copied there, and makes no gradebook."""
    port, token = free_port(), "edition-test-token"
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path), "JUPYTER_TOKEN": token,
           "PYTHONPATH": str(edition), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    log = tmp_path / "lab.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "autograder", "lab", "--port", str(port), "--no-browser"],
                                   cwd=edition, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, listing = time.monotonic() + 90, None
        while time.monotonic() < deadline and process.poll() is None and listing is None:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/api/contents/work/ps3",
                                                 headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(request, timeout=10) as response:
                    listing = json.loads(response.read())
            except OSError:
                time.sleep(1)
        assert listing is not None, log.read_text()[-3000:]
        assert "ps3.ipynb" in {item["name"] for item in listing["content"]}
        assert len(list((edition / "work" / "course").glob("*.ipynb"))) == len(list((REPO / "course").glob("*.ipynb")))
        assert not (edition / "gradebook.db").exists()
    finally:
        stop_group(process)
        shutil.rmtree(edition / "work", ignore_errors=True)
