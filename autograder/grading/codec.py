"""The plain-data codec, trusted side: the case inputs as JSON specs plus arrays.

The sandbox decodes these with its own codec (``autograder/sandbox/codec.py``); what comes
back is read with ``untrusted.decode_value``. Inputs are the grader's own values, so this
encoder only has to be exact, not defensive.
"""
from __future__ import annotations

import numpy as np


def encode(value, arrays: dict[str, np.ndarray]):
    """``value`` (None, bools, numbers, strings, tuples, lists, str-keyed dicts, real arrays) as a spec."""
    if value is None:
        return {"t": "none"}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"t": "int", "v": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"t": "float", "v": float(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, (tuple, list)):
        return {"t": "tuple" if isinstance(value, tuple) else "list", "items": [encode(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "items": {str(k): encode(v, arrays) for k, v in value.items()}}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        key = f"a{len(arrays)}"
        arrays[key] = np.array(value, order="C", copy=True)  # a 0-d array stays 0-d (ascontiguousarray makes it 1-d)
        return {"t": "array", "k": key}
    raise TypeError(f"cannot send a {type(value).__name__} to the sandbox")
