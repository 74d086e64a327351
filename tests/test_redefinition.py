"""A graded function defined in two cells: the visible check says that the grader uses the one in its own cell.

The grader takes each graded function as it was right after its own solution cell ran; a notebook (and so
``check()``) uses whichever definition ran last. Rather than a check that passes while grading fails, ``check()``
warns when the function was defined at top level in more than one cell. JupyterLab sends each cell's id with its
code (``metadata.cellId``); this test does the same, through a real kernel.
"""
from __future__ import annotations

import queue

import pytest
from jupyter_client.manager import start_new_kernel


@pytest.fixture
def kernel():
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run(client, code: str, cell_id: str) -> str:
    """Run ``code`` as the cell ``cell_id`` (as JupyterLab sends it); what it printed, and its error if any."""
    msg = client.session.msg("execute_request", {"code": code, "silent": False, "store_history": True,
                                                 "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
                             metadata={"cellId": cell_id})
    client.shell_channel.send(msg)
    printed = []
    while True:
        try:
            reply = client.get_iopub_msg(timeout=120)
        except queue.Empty:
            raise AssertionError(f"no reply to cell {cell_id}") from None
        if reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        kind, content = reply["msg_type"], reply["content"]
        if kind == "stream":
            printed.append(content["text"])
        elif kind == "error":
            printed.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(printed)


RIGHT = "def predict(X, w, b):\n    return np.where(X @ w + b >= 0, 1.0, -1.0)\n"
LATER = "def predict(x, w, b):\n    return 1.0 if x @ w + b >= 0 else -1.0   # a one-example helper\n"


def test_a_second_definition_makes_the_check_warn(kernel):
    run(kernel, "import numpy as np\nfrom autograder.student.visible import check", "imports")
    run(kernel, RIGHT, "predict")
    quiet = run(kernel, "check('ps1', 'predict', predict)", "test_predict")
    assert "all" in quiet and "warning" not in quiet, quiet
    run(kernel, RIGHT.replace("1.0, -1.0", "1.0, -1.0  # edited, run again"), "predict")   # the same cell again
    again = run(kernel, "check('ps1', 'predict', predict)", "test_predict")
    assert "warning" not in again, again
    run(kernel, LATER, "a-later-cell")
    warned = run(kernel, "check('ps1', 'predict', predict)", "test_predict")
    assert "warning: predict is defined in 2 cells" in warned and "own cell" in warned, warned
