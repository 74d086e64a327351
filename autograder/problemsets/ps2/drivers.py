"""Problem set 2's sandbox drivers (NumPy only: this file is copied into each grading job).

A driver gets the student's namespace, the graded function's name and the case's arguments.
"""
import numpy as np


def optimizer(namespace, name, args):
    """Run ``update(w, dw, config) -> (next_w, config)`` once per row of ``grads``, feeding the
    returned config back in; the graded output is the trajectory of w, one row per step."""
    update = namespace[name]
    w, grads, config = args
    trajectory = []
    for dw in grads:
        w, config = update(w, dw.copy(), config)
        trajectory.append(np.array(w, dtype=float, copy=True))
    return np.stack(trajectory)


DRIVERS = {"optimizer": optimizer}
