"""Grading on a Dask cluster: a 2-worker LocalCluster gives exactly the local pool's grades; a worker killed while
it runs a submission costs that submission a retry, not a wrong grade; a submission whose every try dies is a
grader fault, never recorded as 0. The worker-side result is read back as bounded plain data."""
from __future__ import annotations

import os
import signal
import threading
import time

import nbformat
import numpy as np
import pytest
from conftest import make_course, submit

from autograder import instructor
from autograder.authoring import samples
from autograder.config import Course
from autograder.grading import isolation, untrusted
from autograder.grading.executors import decode_raw, encode_raw
from autograder.grading.runner import RunResult

distributed = pytest.importorskip("distributed", reason="Dask is not installed (pip install -e '.[dask]')")
SEED = 2026


def sample_course(path, slow: bool = False) -> Course:
    """ps1 with the demo's sample class (full, untouched, partly wrong, crashing, corrupt); ``slow`` adds a
    correct submission whose notebook sleeps 6 s before its functions run (a window to kill its worker in)."""
    root = make_course(path)
    course = Course.load(root)
    master = nbformat.read(course.master("ps1"), as_version=4)
    release = nbformat.read(course.released("ps1"), as_version=4)
    for student, _, data, _ in samples.sample_class("ps1", master, release):
        if data is not None and student != "zed":
            submit(root, "ps1", student, data)
    if slow:
        answers = samples.solution_sources(master)
        answers["predict"] = "import time\ntime.sleep(6)\n" + answers["predict"]
        submit(root, "ps1", "sam", samples.fill(release, answers))
    return course


def outcome(run) -> dict:
    return {s: None if r is None else {n: (f.score, f.messages) for n, f in r.functions.items()} for s, r in run.items()}


try:
    MODE = isolation.detect().mode  # AUTOGRADER_SANDBOX, when set
except RuntimeError:  # a mode this machine cannot give: every test skips, saying why (conftest)
    MODE = "unavailable"
ON_WORKERS = pytest.mark.skipif(MODE == "rlimits", reason="a Dask worker refuses to grade without a sandbox "
                                "(isolation rlimits: student code could reach the scheduler); "
                                "test_a_worker_without_a_sandbox_refuses checks that")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c, \
            distributed.Client(c, set_as_default=False) as client:
        yield client


@ON_WORKERS
def test_a_local_cluster_gives_the_local_pools_grades(cluster, tmp_path):
    course = sample_course(tmp_path / "course")
    local = instructor.autograde(course, "ps1", seed=SEED, log=lambda line: None)
    lines = []
    remote = instructor.autograde(course, "ps1", seed=SEED, log=lines.append, scheduler=cluster)
    assert any("running submissions on Dask at" in line and "2 worker thread(s)" in line for line in lines), lines
    assert not local.grader_errors and not remote.grader_errors
    assert outcome(remote) == outcome(local)
    assert {s: r.score for s, r in remote.items() if r} == {"ada": 10, "ben": 0, "cleo": 6, "dev": 6}


@ON_WORKERS
def test_a_worker_killed_mid_submission_costs_a_retry_not_a_grade(cluster, tmp_path):
    course = sample_course(tmp_path / "course", slow=True)
    killed, result = [], {}

    def grade():
        result["run"] = instructor.autograde(course, "ps1", ["sam", "ada"], seed=SEED, log=lambda line: None,
                                           scheduler=cluster)

    thread = threading.Thread(target=grade)
    thread.start()
    deadline = time.monotonic() + 120
    while not killed and time.monotonic() < deadline and thread.is_alive():
        busy = [w for w, tasks in cluster.processing().items() if tasks]
        if busy:
            time.sleep(2)                               # inside sam's 6-second sleep (or ada's quick run)
            pid = cluster.run(os.getpid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(busy[0])
        time.sleep(0.2)
    thread.join(300)
    assert killed, "no worker was ever busy"
    run = result["run"]
    assert not run.grader_errors, run.grader_errors
    assert {s: r.score for s, r in run.items()} == {"sam": 10, "ada": 10}
    cluster.wait_for_workers(2, timeout=60)           # the nanny restarted it


@ON_WORKERS
def test_a_submission_whose_every_try_dies_is_a_grader_fault(tmp_path):
    import dask

    course = sample_course(tmp_path / "course", slow=True)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as c, \
            distributed.Client(c, set_as_default=False) as client:
        result = {}
        thread = threading.Thread(target=lambda: result.update(run=instructor.autograde(
            course, "ps1", ["sam"], seed=SEED, log=lambda line: None, scheduler=client)))
        thread.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(client.processing().values()):
            time.sleep(0.2)
        time.sleep(2)
        worker = next(w for w, tasks in client.processing().items() if tasks)
        os.kill(client.run(os.getpid, workers=[worker])[worker], signal.SIGKILL)
        thread.join(300)
    run = result["run"]
    assert "sam" in run.grader_errors and "died" in run.grader_errors["sam"] and "sam" not in run
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gb, pytest.raises(MissingEntry):
        gb.find_submission("ps1", "sam")                # nothing recorded, not a 0


def test_a_workers_result_is_read_as_bounded_plain_data():
    raw = RunResult(wanted=["predict", "train"],
                    outcomes={"predict": [{"value": (np.arange(6.0).reshape(2, 3), {"b": 1.5})},
                                          {"error": "ValueError: no"}],
                              "train": "timed out after 10 s"},
                    cell_errors={"predict": "Traceback ..."}, notes=["a note"], log_tail="log", seconds=1.25,
                    function_seconds={"predict": 0.5})
    back = decode_raw(encode_raw(raw), ["predict", "train"])
    value = back.outcomes["predict"][0]["value"]
    assert np.array_equal(value[0], raw.outcomes["predict"][0]["value"][0]) and value[1] == {"b": 1.5}
    assert back.outcomes["predict"][1] == {"error": "ValueError: no"}
    assert back.outcomes["train"] == "timed out after 10 s" and back.function_seconds == {"predict": 0.5}
    assert back.wanted == ["predict", "train"] and back.notes == ["a note"] and back.seconds == 1.25
    with pytest.raises(untrusted.Untrusted):
        decode_raw(encode_raw(raw), ["predict"])      # names a function that the problem set does not have
    with pytest.raises(untrusted.Untrusted):
        decode_raw(b"\x00" * 8 + b"not json", ["predict", "train"])
    import pickle

    with pytest.raises(untrusted.Untrusted):
        decode_raw(pickle.dumps(raw), ["predict", "train"])    # never unpickled


def test_a_worker_without_a_sandbox_refuses():
    """A worker that could only grade with resource limits (no bubblewrap, not root) refuses: a grader fault that
    says why, never a grade."""
    import dataclasses

    from autograder.grading.executors import run_on_worker
    from autograder.errors import GraderFault
    from autograder.grading.limits import Limits

    limits = {**dataclasses.asdict(Limits(sandbox="rlimits")), "allowed_modules": ["numpy"]}
    with pytest.raises(GraderFault, match="no sandbox with its own network namespace"):
        run_on_worker({"problem_set": "ps1", "seed": 1, "limits": limits}, [])
