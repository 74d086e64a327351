"""Hidden cases stay hidden: nothing a student can read predicts them.

The case generators and references are public, so the hidden cases are exactly as secret as
their seed. No grading seed lives in any tracked file; every ``autograde`` run draws a fresh
one, records it, and can repeat it on purpose with ``--seed``. A submission that memorizes
every case it can compute from a student's checkout scores no more than the release.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pytest

from autograder import instructor
from autograder.authoring import samples
from autograder.config import Course, SettingsError
from autograder.registry import VISIBLE_SEED
from conftest import make_course, submit
from memorize import HISTORICAL_SEED, candidate_seeds, memorizing_notebook

SEED_IN_A_FILE = re.compile(r"(grading_seed|AUTOGRADER_SEED)\s*[=:]\s*['\"]?\d", re.IGNORECASE)


def test_no_grading_seed_is_under_version_control(repo):
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True).stdout
    found = []
    for name in filter(None, tracked.decode().split("\0")):
        try:
            text = (repo / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        found += [f"{name}: {m.group(0)}" for m in SEED_IN_A_FILE.finditer(text)]
    assert found == []
    # what a student can dig out of the checkout is the visible seed and the historical default, nothing else
    assert candidate_seeds(repo) == [VISIBLE_SEED, HISTORICAL_SEED]


def test_a_seed_in_the_settings_is_refused_with_the_reason(tmp_path, monkeypatch):
    root = make_course(tmp_path / "course")
    with open(root / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.Harness.grading_seed = {12345}\n")
    with pytest.raises(SettingsError, match="draws a fresh secret seed"):
        Course.load(root)
    run = subprocess.run([sys.executable, "-m", "autograder", "autograde", "ps1"], cwd=root, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 2 and "Remove it" in run.stderr
    monkeypatch.setenv("AUTOGRADER_SEED", str(54321))
    with pytest.raises(SettingsError, match="AUTOGRADER_SEED"):
        Course.load(make_course(tmp_path / "other"))


@pytest.fixture(scope="module")
def memorizers(tmp_path_factory, notebooks, repo):
    """A class of two per problem set: the untouched release and a submission that implements nothing
    but knows the answers to every case computable from a student's checkout."""
    root = make_course(tmp_path_factory.mktemp("memorize"))
    seeds = candidate_seeds(repo)
    course = Course.load(root)
    runs = {}
    for name in ("ps1", "ps2"):
        master, release = notebooks[name]
        submit(root, name, "release", release)
        submit(root, name, "memorizer", memorizing_notebook(name, master, release, seeds))
        runs[name] = instructor.autograde(course, name, log=lambda line: None)
    return root, course, runs


def auto_total(course, name, student):
    table = instructor.table(course, name)[1]
    return sum(v or 0 for k, v in table[student].items() if k.startswith("test_"))


@pytest.mark.parametrize("name", ["ps1", "ps2"])
def test_memorizing_the_computable_cases_earns_nothing(memorizers, name):
    root, course, runs = memorizers
    assert auto_total(course, name, "memorizer") <= auto_total(course, name, "release") == 0, \
        f"seed {runs[name].seed}"


def test_the_memorizer_is_a_real_threat_at_a_seed_it_could_compute(memorizers):
    """The same submission graded at a seed found in a checkout (the old default) takes almost every
    point: without fresh seeds, the test above would fail."""
    root, course, runs = memorizers
    run = instructor.autograde(course, "ps1", students=["memorizer"], seed=HISTORICAL_SEED, log=lambda line: None)
    assert run["memorizer"].score == 10
    runs["ps1"] = instructor.autograde(course, "ps1", log=lambda line: None)  # the class again, at a fresh seed


def test_each_run_draws_a_fresh_seed_and_records_it(memorizers):
    root, course, runs = memorizers
    assert len({runs["ps1"].seed, runs["ps2"].seed, HISTORICAL_SEED, VISIBLE_SEED}) == 4
    for name, run in runs.items():
        for student in ("release", "memorizer"):
            report = json.loads((course.autograded / student / name / "autograder_report.json").read_text())
            assert report["seed"] == run.seed


def test_a_run_can_be_repeated_with_its_seed(tmp_path, notebooks):
    root = make_course(tmp_path / "course")
    master, release = notebooks["ps1"]
    submit(root, "ps1", "bob", samples.with_mutant(master, release, "predict", *samples.mutants("ps1")["predict"][0][1:]))
    reports = []
    for args in ([], ["--seed", "777"], ["--seed", "777"]):
        run = subprocess.run([sys.executable, "-m", "autograder", "autograde", "ps1", *args], cwd=root,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        seed = re.search(r"grading seed (\d+)", run.stdout).group(1)
        assert f"--seed {seed}" in run.stdout
        reports.append(json.loads((root / "autograded" / "bob" / "ps1" / "autograder_report.json").read_text()))
    assert reports[1]["seed"] == reports[2]["seed"] == 777 and reports[0]["seed"] != 777
    strip = lambda r: {k: v for k, v in r.items() if k not in ("seconds", "function_seconds")}   # timings differ
    assert strip(reports[1]) == strip(reports[2])
    first_case = lambda r: next(m for m in r["functions"]["predict"]["messages"] if m.startswith("case '"))
    assert "on the hyperplane" in " ".join(reports[1]["functions"]["predict"]["messages"])
    assert nbformat.read(root / "autograded" / "bob" / "ps1" / "ps1.ipynb", as_version=4)
    assert first_case(reports[1]) == first_case(reports[2])
