"""Shared fixtures: throw-away course folders made from the repository's own files.

The problem sets are released once per test run into a template course (nbgrader's
``generate_assignment`` fills its gradebook); each test that needs a course copies it.
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
# nbgrader runs alembic as a program: this environment's tools must be on PATH
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
# Every submission the tests grade is the course's own (samples, planted bugs, attacks), so grading goes on where
# the sandbox could read the masters (it says so); tests/test_exposure.py grades without this and sees the refusal.
os.environ["AUTOGRADER_TRUSTED_SUBMISSIONS"] = "1"
_TEMPLATE: list[Path] = []
EXECUTED_LECTURES: dict = {}
"""{lecture name: the notebook as tests/test_notebooks_execute.py executed it}, for tests/test_site.py."""


def _template() -> Path:
    """A course with this repo's config and masters, every problem set released (once per run)."""
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="course-template-"))
        atexit.register(shutil.rmtree, folder, True)
        shutil.copy(REPO / "nbgrader_config.py", folder / "nbgrader_config.py")
        shutil.copytree(REPO / "solutions", folder / "solutions")
        run = subprocess.run([sys.executable, "-m", "autograder", "release"], cwd=folder, capture_output=True,
                             text=True, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        _TEMPLATE.append(folder)
    return _TEMPLATE[0]


def make_course(folder: Path, released: bool = True) -> Path:
    """A course folder with this repo's config and masters, the committed releases and (by default)
    a gradebook that knows them, as after `python -m autograder release`."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions", folder / "solutions")
    shutil.copytree(REPO / "assignments", folder / "assignments")
    if released:
        shutil.copy(_template() / "gradebook.db", folder / "gradebook.db")
    return folder


def submit(course_root: Path, problem_set: str, student: str, notebook) -> Path:
    """Put a submission where nbgrader's collect would: submitted/<student>/<ps>/<ps>.ipynb."""
    folder = course_root / "submitted" / student / problem_set
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{problem_set}.ipynb"
    if isinstance(notebook, bytes):
        path.write_bytes(notebook)
    else:
        nbformat.write(notebook, path)
    return path


def pytest_collection_modifyitems(config, items):
    """With AUTOGRADER_SANDBOX naming a mode this machine cannot give (unshare without root, bwrap not installed),
    every test skips, saying why, instead of failing on the machine's account."""
    from autograder.grading import isolation

    wanted = os.environ.get("AUTOGRADER_SANDBOX") or "auto"
    try:
        isolation.detect(wanted)
    except RuntimeError as error:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=f"AUTOGRADER_SANDBOX={wanted}: {error}"))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def template() -> Path:
    return _template()


def read(path: Path):
    return nbformat.read(path, as_version=4)


@pytest.fixture(scope="session")
def notebooks():
    """(master, release) notebooks of each problem set."""
    from autograder.registry import PROBLEM_SET_NAMES

    return {name: (read(REPO / "solutions" / name / f"{name}.ipynb"),
                   read(REPO / "assignments" / name / f"{name}.ipynb")) for name in PROBLEM_SET_NAMES}


# ------------------------------------------------------------------ servers the tests start (JupyterLab, JupyterHub)
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(root: Path, home: Path, port: int, token: str, log: Path) -> subprocess.Popen:
    """`python -m autograder lab` on ``root``, with a PATH that lacks the venv (as a new user's shell has), in its own
    process group (stop it with ``stop_group``)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "JUPYTER_TOKEN": token,
           "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"), "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime")}
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "autograder", "lab", "--port", str(port), "--no-browser"],
                                cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_group(process: subprocess.Popen, seconds: float = 30) -> None:
    """SIGTERM to the process group we started, then SIGKILL if it is still there after ``seconds``."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def formgrader_assignments(port: int, token: str, process: subprocess.Popen, log: Path,
                           seconds: float = 90) -> dict[str, dict]:
    """Formgrader's list of assignments, as its page asks for it on the first visit: {name: assignment}."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/formgrader/api/assignments",
                                             headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=10) as response:
                body = json.loads(response.read())
            return {a["name"]: a for a in (body["value"] if isinstance(body, dict) and "value" in body else body)}
        except OSError:
            time.sleep(1)
    pytest.fail(f"Formgrader did not answer:\n{log.read_text()[-3000:]}")
