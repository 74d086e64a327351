"""`make demo`'s job: the whole cycle on the sample class gives the expected grades."""
import shutil
import subprocess
import sys


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
    run = subprocess.run([sys.executable, "-m", "autograder", "demo"], cwd=root, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert "identical to the committed" in out and "BAD" not in out and "demo finished" in out
    assert (root / "demo" / "grades.csv").read_text().count("\n") >= 6
    assert list((root / "demo" / "feedback").glob("*/ps1/ps1.html"))
    assert not stale.exists(), "the demo must start afresh, so that it is safe to run again"
