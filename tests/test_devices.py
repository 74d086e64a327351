"""`selfcheck --device cuda`: the references on the GPU must give the CPU's verdicts.

Where there is a GPU, the check runs for real on every problem set: every verdict the same on both devices, and
the largest difference between the devices' expected outputs reported (and finite) for every graded function.
Without a GPU the check fails with a message that says so; its machinery is exercised by comparing the CPU
with itself (``--device cpu``), which must find every verdict the same and no difference at all.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from conftest import make_course

from autograder.authoring.selfcheck import compare_devices, largest_differences
from autograder.registry import PROBLEM_SET_NAMES, get_problem_set

NO_GPU = None if torch.cuda.is_available() else (
    f"no CUDA device here (torch {torch.__version__}, built with CUDA {torch.version.cuda}): the GPU check runs on a "
    "machine with one; test_without_a_gpu_the_cuda_check_fails_and_says_why covers this machine")


def device_check(device: str, problem_set: str) -> dict[str, float]:
    """compare_devices on ``problem_set`` at seed 0 (in the current course folder): it must pass, find every verdict
    the same, and report the largest difference for every graded function; {function: that difference}."""
    lines: list[str] = []
    assert compare_devices([problem_set], seeds=[0], device=device, log=lines.append), "\n".join(lines)
    summary = next(line for line in lines if line.startswith(f"{problem_set} (seed 0)"))
    print(summary)
    assert "every verdict the same on both devices" in summary, summary
    figures = {name: float(value) for name, value in
               re.findall(r"(\w+) (\d\.\de[+-]\d+|inf|nan)", summary.split("of the expected outputs: ", 1)[1])}
    assert set(figures) == {fn.name for fn in get_problem_set(problem_set).functions}, summary
    return figures


def test_largest_differences_per_function():
    cpu = {"f": [(np.array([1.0, 2.0]), {"w": np.array([[0.5]])}), None], "g": [np.float64(3.0)]}
    gpu = {"f": [(np.array([1.0, 2.0 + 1e-12]), {"w": np.array([[0.5 - 1e-9]])}), None], "g": [np.float64(3.0)]}
    found = largest_differences(cpu, gpu)
    assert found["g"] == 0.0 and found["f"] == pytest.approx(1e-9, rel=1e-3)
    assert largest_differences({"f": [np.array([1.0])]}, {"f": [np.array([np.nan])]})["f"] == float("inf")
    assert largest_differences({"f": [np.ones(2)]}, {"f": [np.ones(3)]})["f"] == float("inf")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: test_on_a_gpu_* runs the real check")
def test_without_a_gpu_the_cuda_check_fails_and_says_why():
    lines = []
    assert compare_devices(["ps6"], seeds=[0], device="cuda", log=lines.append) is False
    assert "no CUDA device" in lines[0] and "grading machine" in lines[0], lines


@pytest.mark.skipif(NO_GPU is not None, reason=str(NO_GPU))
@pytest.mark.parametrize("problem_set", PROBLEM_SET_NAMES)
def test_on_a_gpu_the_references_give_the_cpus_verdicts(problem_set, monkeypatch, tmp_path):
    """`selfcheck --device cuda` for real: every verdict on the GPU is the CPU's, and the largest difference of
    every function's expected outputs is reported, and finite (shapes and non-finite entries agree)."""
    monkeypatch.chdir(make_course(tmp_path / "course"))
    figures = device_check("cuda", problem_set)
    assert all(math.isfinite(d) for d in figures.values()), figures


def test_the_cpu_against_itself_gives_the_same_verdicts_and_no_difference(monkeypatch, tmp_path):
    """The machinery on ps1, whose self-check is the quickest (ps6's, with a torch trainer, took 85 s here)."""
    monkeypatch.chdir(make_course(tmp_path / "course"))
    figures = device_check("cpu", "ps1")
    assert figures == dict.fromkeys(figures, 0.0) and {"train_perceptron", "hinge_sgd_step"} <= set(figures), figures
