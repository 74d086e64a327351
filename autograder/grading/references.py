"""The references: the one place where expected outputs are computed, for the grader and the visible check alike.

:class:`References` holds every case of a problem set at one seed with the PyTorch reference's output and the
outputs of the known wrong conventions (:func:`expected_outputs`); the grader computes them once per run, the
visible check for one function at the visible seed, and the student edition's fixtures come from the same function.

The references run on CUDA when available, else the CPU, in float64. ``AUTOGRADER_DEVICE=cpu`` or
``AUTOGRADER_DEVICE=cuda`` forces one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np


def reference_device():
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    wanted = os.environ.get("AUTOGRADER_DEVICE", "").strip().lower()
    if wanted == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("AUTOGRADER_DEVICE=cuda but torch sees no CUDA device")
    if wanted in ("cpu", "cuda"):
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_torch(value, device):
    """Arrays become float64 (or int64) tensors on ``device``; everything else is kept."""
    import torch

    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return torch.tensor(value, dtype=torch.float64, device=device)
        if value.dtype.kind in "iub":
            return torch.tensor(value.astype(np.int64), device=device)
    if isinstance(value, dict):
        return {k: to_torch(v, device) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(to_torch(v, device) for v in value)
    return value


def to_numpy(value):
    """Tensors (on any device) become NumPy arrays; tuples, lists and dicts recurse."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return tuple(to_numpy(v) for v in value)
    return value


class one_cpu_thread:
    """Run the references on one CPU thread. They are many small operations (a training loop on minibatches of
    32), which torch's thread pool slows down a hundredfold on a busy machine (94 ms instead of 0.9 ms a step,
    measured on 2 cores shared with a test run); the previous setting is restored afterwards."""

    def __enter__(self):
        import torch

        self.previous = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.previous)


def run_reference(fn, case):
    """Expected outputs of graded function ``fn`` on ``case``, as NumPy values."""
    device = reference_device()
    args = [to_torch(a, device) for a in case.args]
    with one_cpu_thread():
        return to_numpy(fn.reference(*args))


def run_variant(misconception, case):
    """Outputs of a known wrong convention (a variant of the reference) on ``case``; None where the
    variant is undefined (it raised), so that it is never matched there."""
    device = reference_device()
    args = [to_torch(a, device) for a in case.args]
    try:
        with one_cpu_thread():
            return to_numpy(misconception.reference(*args))
    except Exception:
        return None


def expected_outputs(fn, cases) -> tuple[list, dict[str, list]]:
    """For graded function ``fn``'s ``cases``: the reference's output for each (None without a reference), and
    each known wrong convention's outputs by name (None for a case judged by a property, which a variant cannot
    tell anything about)."""
    expected = [None if fn.reference is None else run_reference(fn, case) for case in cases]
    variants = {m.name: [None if fn.judged_by_check(case) else run_variant(m, case) for case in cases]
                for m in fn.misconceptions}
    return expected, variants


@dataclass
class References:
    """Every case of a problem set at one seed, by function name, with the expected outputs and the known wrong
    conventions' outputs. Computed once per grading run, in the trusted process only."""

    cases: dict[str, list]
    expected: dict[str, list]
    variants: dict[str, dict[str, list]]

    @classmethod
    def compute(cls, problem_set, seed: int, cases: dict[str, list] | None = None) -> "References":
        cases = cases if cases is not None else {fn.name: fn.cases(seed) for fn in problem_set.functions}
        expected, variants = {}, {}
        for fn in problem_set.functions:
            expected[fn.name], variants[fn.name] = expected_outputs(fn, cases[fn.name])
        return cls(cases, expected, variants)
