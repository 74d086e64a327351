"""No lecture may hold code that earns a graded function's points, under any name (docs/grading.md, "Whose code is graded").

tests/lecture_guard.py runs each lecture's definitions and puts every function whose arguments fit a graded
function's signature through that function's visible check, with the lecture's other definitions beside it. The
lectures were reworked until it found nothing (2026-12-06): any function that passes a graded check, and any
definition under a graded function's name, fails this test.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.authoring import samples

REPO = Path(__file__).resolve().parent.parent
GUARD = REPO / "tests" / "lecture_guard.py"
LECTURES = sorted((REPO / "course").glob("*.ipynb"))


def guard(paths: list[Path]) -> dict:
    run = subprocess.run([sys.executable, str(GUARD), *map(str, paths)], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def test_no_lecture_hands_over_graded_code():
    found = guard(LECTURES)
    problems = [f"{lecture}: its {function} passes the visible check of {ps}.{graded}"
                for lecture, function, ps, graded in found["passes"]]
    problems += [f"{lecture}: defines {name}, a graded function's name" for lecture, name in found["names"]]
    assert not problems, "\n".join(problems)


def test_the_guard_catches_a_master_pasted_into_a_lecture(tmp_path, notebooks):
    """The control: ps4's master max_pool_forward and ps1's predict, renamed and pasted into a copy of a lecture
    that hands over neither, are found under their new names; so is a graded name defined with a wrong body."""
    lecture = REPO / "course" / "06a_autoencoders_and_embeddings.ipynb"
    copy = tmp_path / lecture.name
    shutil.copy(lecture, copy)
    nb = nbformat.read(copy, as_version=4)
    pool = samples.solution_sources(notebooks["ps4"][0])["max_pool_forward"]
    predict = samples.solution_sources(notebooks["ps1"][0])["predict"]
    nb.cells.append(nbformat.v4.new_code_cell(pool.replace("def max_pool_forward(", "def pool_windows(")))
    nb.cells.append(nbformat.v4.new_code_cell(predict.replace("def predict(", "def classify(")))
    nb.cells.append(nbformat.v4.new_code_cell("def kmax_pool(x, k):\n    return x[..., :k]\n"))
    nbformat.write(nb, copy)
    found = guard([copy])
    assert [lecture.name, "pool_windows", "ps4", "max_pool_forward"] in found["passes"], found
    assert [lecture.name, "classify", "ps1", "predict"] in found["passes"], found
    assert [lecture.name, "kmax_pool"] in found["names"] and \
        not any(p[1] == "kmax_pool" for p in found["passes"]), found
