"""`make demo`'s job: the whole cycle on the sample class gives the expected grades."""
import difflib
import json
import re
import shutil
import subprocess
import sys

from autograder.registry import get_problem_set

from behaviour import SEED, snapshot


def test_demo_runs_the_whole_cycle(tmp_path, repo):
    root = tmp_path / "course"
    root.mkdir()
    for name in ("nbgrader_config.py",):
        shutil.copy(repo / name, root / name)
    for folder in ("solutions", "assignments"):
        shutil.copytree(repo / folder, root / folder)
    stale = root / "demo" / "left_from_an_earlier_run.txt"  # the demo starts from a fresh folder every time
    stale.parent.mkdir()
    stale.write_text("old")
    run = subprocess.run([sys.executable, "-m", "autograder", "demo", "--seed", str(SEED)], cwd=root, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert "identical to the committed" in out and "BAD" not in out and "demo finished" in out
    canvas = (root / "demo" / "grades-canvas.csv").read_text().splitlines()
    assert canvas[0].startswith("Student,ID,SIS User ID,SIS Login ID,Section,ps1") and len(canvas) >= 7
    assert (root / "demo" / "grades-moodle.csv").read_text().startswith("First name,Last name,ID number,Email address")
    assert list((root / "demo" / "feedback").glob("*/ps1/ps1.html"))
    # the class report: two plots; the corrupt file listed once; the function that never returns timed out for dev;
    # the one that raises grouped with its message; ada, cleo and this account have full points on the untouched one
    ps = get_problem_set("ps1")
    independent = [fn.name for fn in ps.functions if not ps.dependents(fn.name)]
    report = (root / "demo" / "reports" / "ps1.html").read_text()
    assert report.count("data:image/png;base64,") == 2
    assert "<li>eve: your submission could not be graded" in report
    assert f"<li>{independent[2]} timed out for 1: dev</li>" in report
    assert "ValueError: shapes do not match" in report
    untouched = next(fn.name for fn in ps.functions if fn.name not in independent[:3:2] and not fn.uses)
    passed, graded = map(int, re.search(rf"<td>{untouched}</td><td>\d+</td><td>(\d+) / (\d+)</td>", report).groups())
    assert passed == graded - 2 and graded >= 5          # all but the untouched release and the corrupt file
    assert not stale.exists(), "the demo must start afresh, so that it is safe to run again"

    # the redesign's promise: the same grades, messages, reports and exports as the code before it, at this seed
    before = (repo / "tests" / "data" / "behaviour.json").read_text().splitlines()
    after = json.dumps(snapshot(root / "demo"), indent=1, sort_keys=True).splitlines()
    assert after == before, "the demo's grades, messages or reports changed:\n" + "\n".join(
        list(difflib.unified_diff(before, after, "before", "after", lineterm="", n=1))[:300])
