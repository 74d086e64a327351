"""`selfcheck --device cuda`: the references on the GPU must give the CPU's verdicts.

Without a GPU the check fails with a message that says so; its machinery is exercised by comparing the CPU
with itself (``--device cpu``), which must find every verdict the same and no difference at all.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_course

from autograder.authoring.selfcheck import compare_devices, largest_differences


def test_largest_differences_per_function():
    cpu = {"f": [(np.array([1.0, 2.0]), {"w": np.array([[0.5]])}), None], "g": [np.float64(3.0)]}
    gpu = {"f": [(np.array([1.0, 2.0 + 1e-12]), {"w": np.array([[0.5 - 1e-9]])}), None], "g": [np.float64(3.0)]}
    found = largest_differences(cpu, gpu)
    assert found["g"] == 0.0 and found["f"] == pytest.approx(1e-9, rel=1e-3)
    assert largest_differences({"f": [np.array([1.0])]}, {"f": [np.array([np.nan])]})["f"] == float("inf")
    assert largest_differences({"f": [np.ones(2)]}, {"f": [np.ones(3)]})["f"] == float("inf")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the real check applies")
def test_without_a_gpu_the_cuda_check_fails_and_says_why():
    lines = []
    assert compare_devices(["ps6"], seeds=[0], device="cuda", log=lines.append) is False
    assert "no CUDA device" in lines[0] and "grading machine" in lines[0], lines


def test_the_cpu_against_itself_gives_the_same_verdicts_and_no_difference(monkeypatch, tmp_path):
    """The machinery on ps1, whose self-check is the quickest (ps6's, with a torch trainer, took 85 s here)."""
    monkeypatch.chdir(make_course(tmp_path / "course"))
    lines = []
    assert compare_devices(["ps1"], seeds=[0], device="cpu", log=lines.append), lines
    summary = next(line for line in lines if line.startswith("ps1 (seed 0)"))
    assert "every verdict the same on both devices" in summary
    assert "train_perceptron 0.0e+00" in summary and "hinge_sgd_step 0.0e+00" in summary, summary
