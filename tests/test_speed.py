"""A speed case with a budget calibrated on the grading machine: ps4's conv_forward gets 25 times the
master solution's time, measured by the same run, so the naive six loops (every output entry, every product) run
out of time while vectorized versions (im2col, einsum) pass; the feedback says how long it took against the budget.
The loops are hundreds of times slower than the master, far from the factor of 25 even on a busy machine (a loop
over the output entries alone, with a vectorized window product, came within it once on a loaded 2-core machine)."""
from __future__ import annotations

import subprocess
import sys

from autograder.authoring import samples
from autograder.grading.grader import Grader
from autograder.grading.notebooks import program_cells
from autograder.registry import fresh_seed, get_problem_set
from conftest import make_course, submit

PS = "ps4"
LOOPS = '''def conv_forward(x, W, b, stride=1, padding=0):
    n, _, h, w = x.shape
    f, _, kh, kw = W.shape
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((n, f, ho, wo))
    for i in range(n):                      # every output entry, every product: the naive six loops
        for k in range(f):
            for r in range(ho):
                for c in range(wo):
                    total = b[k]
                    for ch in range(x.shape[1]):
                        for u in range(kh):
                            for v in range(kw):
                                total += xp[i, ch, r * stride + u, c * stride + v] * W[k, ch, u, v]
                    out[i, k, r, c] = total
    return out, (x.shape, W, None, stride, padding)
'''


def test_a_loop_runs_out_of_the_calibrated_budget_and_vectorized_code_does_not(notebooks):
    master, release = notebooks[PS]
    ps = get_problem_set(PS)
    with Grader(ps, fresh_seed()) as grader:
        control = grader.run(program_cells(master, samples.full_solution(master, release)), only=["conv_forward"])
        (seconds, budget), = grader.calibrate(control).values()
        assert budget == max(ps["conv_forward"].min_budget_s, 25 * seconds)
        fast = grader.judge(control).functions["conv_forward"]
        assert fast.passed and "of its" in fast.messages[1] and "x the model solution's" in fast.messages[1], fast.messages
        slow = grader.grade(program_cells(master, samples.with_alternative(master, release, "conv_forward", LOOPS)),
                            only=["conv_forward"]).functions["conv_forward"]
        assert not slow.passed and "timed out" in slow.messages[0], slow.messages
        assert f"{budget:.2f} s budget" in " ".join(slow.messages), slow.messages
        for description, source in samples.alternatives(PS)["conv_forward"]:
            result = grader.grade(program_cells(master, samples.with_alternative(master, release, "conv_forward", source)),
                                  only=["conv_forward"]).functions["conv_forward"]
            assert result.passed, (description, result.messages)


def test_the_control_run_calibrates_the_budget(tmp_path, notebooks):
    root = make_course(tmp_path / "course")
    master, release = notebooks[PS]
    submit(root, PS, "alice", samples.full_solution(master, release))
    run = subprocess.run([sys.executable, "-m", "autograder", "autograde", PS], cwd=root,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "control: conv_forward took" in run.stdout and "its budget for this run is" in run.stdout, run.stdout
