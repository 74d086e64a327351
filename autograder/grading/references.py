"""Where the PyTorch references run: CUDA when available, else the CPU, in float64.

``AUTOGRADER_DEVICE=cpu`` or ``AUTOGRADER_DEVICE=cuda`` forces one.
"""
from __future__ import annotations

import os

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
