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
    run = subprocess.run([sys.executable, "-m", "autograder", "demo"], cwd=root, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert "identical to the committed" in out and "BAD" not in out and "demo finished" in out
    assert (root / "demo" / "grades.csv").read_text().count("\n") >= 6
    assert list((root / "demo" / "feedback").glob("*/ps1/ps1.html"))
    # safe to run twice
    again = subprocess.run([sys.executable, "-m", "autograder", "demo"], cwd=root, capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0 and "demo finished" in again.stdout
