"""A speed case with a budget calibrated on the grading machine: ps4's conv_forward gets 25 times the
master solution's time, measured by the same run, so the naive six loops (every output entry, every product) run
out of time while vectorized versions (im2col, einsum) pass; the feedback says how long it took against the budget.
The loops are hundreds of times slower than the master, far from the factor of 25 even on a busy machine (a loop
over the output entries alone, with a vectorized window product, came within it once on a loaded 2-core machine)."""
from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys

from autograder.authoring import samples
from autograder.grading.grader import Grader
from autograder.grading.judge import budget_line
from autograder.grading.notebooks import program_cells
from autograder.grading.runner import RunResult
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


def test_calibrate_gives_the_multiple_of_the_masters_time_and_never_less_than_the_floor():
    """Grader.calibrate on control timings made by hand, for a problem set whose predict is timed at 10 x the master
    with a floor of 1 s: the budgets are written out as numbers, and the feedback line states the same figures."""
    ps1 = get_problem_set("ps1")
    timed = {"predict": {"budget_vs_master": 10.0, "min_budget_s": 1.0}}
    ps = dataclasses.replace(ps1, functions=tuple(dataclasses.replace(fn, **timed.get(fn.name, {}))
                                                  for fn in ps1.functions))
    names = [fn.name for fn in ps.functions]

    def control(**seconds) -> RunResult:
        return RunResult(wanted=names, function_seconds=seconds)

    with Grader(ps, 1) as grader:
        assert grader.calibrate(control()) == {}, "no time for the master: no budget (time_limit_s stays)"
        # 10 x the master's 0.25 s; perceptron_update's time is there but it has no budget_vs_master
        assert grader.calibrate(control(predict=0.25, perceptron_update=0.5)) == {"predict": (0.25, 2.5)}
        assert grader.calibrated == {"predict": (0.25, 2.5)}, "the runner uses the budget from now on"
        assert grader.calibrate(control(predict=0.0625)) == {"predict": (0.0625, 1.0)}, "the floor, not 0.625 s"
        assert grader.calibrate(control(predict=3.0)) == {"predict": (3.0, 30.0)}
    line = budget_line(ps["predict"], (0.25, 2.5), 3.0)
    assert line == ("predict took 3.00 s of its 2.50 s budget (10 x the model solution's 0.250 s on this machine, "
                    "at least 1 s)."), line


def test_a_loop_runs_out_of_the_calibrated_budget_and_vectorized_code_does_not(notebooks):
    master, release = notebooks[PS]
    ps = get_problem_set(PS)
    with Grader(ps, fresh_seed()) as grader:
        control = grader.run(program_cells(master, samples.full_solution(master, release)), only=["conv_forward"])
        (seconds, budget), = grader.calibrate(control).values()
        assert seconds > 0 and budget >= ps["conv_forward"].min_budget_s, (seconds, budget)
        assert seconds * 10 <= budget, f"the master's own {seconds:.3f} s must fit its {budget:.2f} s budget many times"
        fast = grader.judge(control).functions["conv_forward"]
        assert fast.passed, fast.messages
        assert f"took {control.function_seconds['conv_forward']:.2f} s of its {budget:.2f} s budget" in fast.messages[1]
        assert f"x the model solution's {seconds:.3f} s" in fast.messages[1], fast.messages
        slow = grader.grade(program_cells(master, samples.with_alternative(master, release, "conv_forward", LOOPS)),
                            only=["conv_forward"]).functions["conv_forward"]
        assert not slow.passed and "timed out" in slow.messages[0], slow.messages
        assert f"its {budget:.2f} s budget" in " ".join(slow.messages), slow.messages
        for description, source in samples.alternatives(PS)["conv_forward"]:
            result = grader.grade(program_cells(master, samples.with_alternative(master, release, "conv_forward", source)),
                                  only=["conv_forward"]).functions["conv_forward"]
            assert result.passed, (description, result.messages)


def test_the_control_run_calibrates_the_budget(tmp_path, notebooks):
    """The budget the control line prints is the one the student's feedback states."""
    root = make_course(tmp_path / "course")
    master, release = notebooks[PS]
    submit(root, PS, "alice", samples.full_solution(master, release))
    run = subprocess.run([sys.executable, "-m", "autograder", "autograde", PS], cwd=root,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    found = re.search(r"control: conv_forward took (\d+\.\d{3}) s; its budget for this run is (\d+\.\d{2}) s", run.stdout)
    assert found, run.stdout
    seconds, budget = found.groups()
    assert float(budget) >= max(get_problem_set(PS)["conv_forward"].min_budget_s, float(seconds)), run.stdout
    report = json.loads((root / "autograded" / "alice" / PS / "autograder_report.json").read_text())
    feedback = " ".join(report["functions"]["conv_forward"]["messages"])
    assert f"of its {budget} s budget" in feedback and f"the model solution's {seconds} s" in feedback, feedback
