"""Compare what a student's function returned with what the reference expects.

Runs in the grader's own process on plain data only (NumPy arrays, numbers, tuples,
dicts decoded from the sandbox's output). Shape and dtype are checked before values.
Messages say which output is wrong and how, never how the reference computes it.
"""
from __future__ import annotations

import numbers

import numpy as np

REAL_KINDS = "biuf"  # bool, signed int, unsigned int, float


def _as_array(value):
    """A returned scalar becomes a 0-d array and a (nested) list of numbers an array;
    anything else that is not an array is None."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bool, numbers.Real, np.generic)):
        return np.asarray(value)
    if isinstance(value, list):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        return array
    return None


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def _index_str(index) -> str:
    return "" if index == () else f" at index {tuple(int(i) for i in index)}"


def _first_departure(what: str, bad: np.ndarray, sequence: str) -> tuple[int, str]:
    """The first position along axis 0 (a step of a trajectory) where anything is wrong."""
    rows = bad.reshape(bad.shape[0], -1).any(axis=1)
    first = int(np.argmax(rows))
    return first, f"{what}: first departs at {sequence} {first + 1} of {bad.shape[0]}"


def compare_arrays(what: str, expected: np.ndarray, got, rtol: float, atol: float,
                   sequence: str | None = None) -> str | None:
    """None when ``got`` matches; otherwise one line: shape, then the worst value, or, for a ``sequence``
    (axis 0 is a step: an optimizer's trajectory, a training run), the first step that departs, since
    the worst one is often far downstream of the cause."""
    got_array = _as_array(got)
    if got_array is None:
        return f"{what}: expected {_describe(expected)}, got {_describe(got)}"
    if got_array.dtype.kind not in REAL_KINDS:
        return f"{what}: expected real numbers, got dtype {got_array.dtype}"
    if got_array.shape != expected.shape:
        return f"{what}: expected shape {expected.shape}, got shape {got_array.shape}"
    exp = expected.astype(np.float64)
    val = got_array.astype(np.float64)
    exp_finite, val_finite = np.isfinite(exp), np.isfinite(val)
    # Infinities must match exactly (e.g. an unbounded mistake bound); NaN never passes.
    bad_nonfinite = (exp_finite != val_finite) | (~exp_finite & (exp != val))
    stepwise = sequence is not None and exp.ndim >= 1 and exp.shape[0] > 1
    if bad_nonfinite.any():
        index = np.unravel_index(np.argmax(bad_nonfinite), exp.shape)
        head = what
        if stepwise:
            first, head = _first_departure(what, bad_nonfinite, sequence)
            index = (first, *np.unravel_index(np.argmax(bad_nonfinite[first]), exp.shape[1:]))
        where = _index_str(index[1:]) + f" of that {sequence}" if stepwise else _index_str(index)
        return (f"{head}: expected {exp[index]!r}, got {val[index]!r}{where} "
                f"({int(bad_nonfinite.sum())} non-finite mismatch(es))")
    both = exp_finite & val_finite
    error = np.abs(np.subtract(val, exp, out=np.zeros_like(exp), where=both))
    allowed = atol + rtol * np.abs(np.where(both, exp, 0.0))
    wrong = error > allowed
    if wrong.any() and stepwise:
        first, head = _first_departure(what, wrong, sequence)
        row = np.where(wrong[first], error[first], -1.0)
        index = (first, *np.unravel_index(np.argmax(row), exp.shape[1:]))
        return (f"{head}: expected {exp[index]:.6g}, got {val[index]:.6g}{_index_str(index[1:])} of that {sequence} "
                f"({int(wrong[first].sum())} of {wrong[first].size} value(s) wrong there, {int(wrong.sum())} in all "
                f"{exp.shape[0]} {sequence}s; rtol={rtol:g}, atol={atol:g})")
    if wrong.any():
        index = np.unravel_index(np.argmax(np.where(wrong, error, -1.0)), exp.shape)
        return (f"{what}: {int(wrong.sum())} of {exp.size} value(s) differ; largest error "
                f"{error[index]:.3g}{_index_str(index)} (expected {exp[index]:.6g}, got {val[index]:.6g}; "
                f"rtol={rtol:g}, atol={atol:g})")
    return None


def compare(what: str, expected, got, rtol: float, atol: float, sequence: str | None = None) -> str | None:
    """None when ``got`` matches ``expected``; otherwise one line saying what is wrong."""
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)):
            return f"{what}: expected a tuple of {len(expected)} values, got {_describe(got)}"
        if len(got) != len(expected):
            return f"{what}: expected {len(expected)} return values, got {len(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            difference = compare(f"{what}[{i}]", e, g, rtol, atol, sequence)
            if difference:
                return difference
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{what}: expected a dict, got {_describe(got)}"
        missing = sorted(set(expected) - set(got))
        if missing:
            return f"{what}: missing key(s) {missing}"
        for key in expected:
            difference = compare(f"{what}[{key!r}]", expected[key], got[key], rtol, atol, sequence)
            if difference:
                return difference
        return None
    if isinstance(expected, (bool, np.bool_)):
        got_array = _as_array(got)
        if got_array is None or got_array.shape != () or got_array.dtype.kind not in REAL_KINDS:
            return f"{what}: expected True or False, got {_describe(got)}"
        if bool(got_array) != bool(expected):
            return f"{what}: expected {bool(expected)}, got {bool(got_array)}"
        return None
    expected_array = _as_array(expected)
    if expected_array is None:
        raise TypeError(f"reference produced an unsupported value for {what}: {_describe(expected)}")
    if expected_array.shape == () and expected_array.dtype.kind in "iu":  # a count or a size: an int, not 5.0
        got_array = _as_array(got)
        if got_array is not None and got_array.shape == () and got_array.dtype.kind not in "iu":
            return f"{what}: expected an integer, got {_describe(got)} ({got!r})"
    return compare_arrays(what, expected_array, got, rtol, atol, sequence)




def compare_outputs(returns: tuple[str, ...], expected, got, rtol: float, atol: float,
                    sequence: str | None = None) -> str | None:
    """Compare a function's outputs, naming each one as the docstring does."""
    if len(returns) == 1:
        return compare(f"return value {returns[0]!r}", expected, got, rtol, atol, sequence)
    if not isinstance(got, (tuple, list)):
        return f"expected a tuple ({', '.join(returns)}), got {_describe(got)}"
    if len(got) != len(returns):
        return f"expected {len(returns)} return values ({', '.join(returns)}), got {len(got)}"
    for name, e, g in zip(returns, expected, got):
        difference = compare(f"return value {name!r}", e, g, rtol, atol, sequence)
        if difference:
            return difference
    return None
