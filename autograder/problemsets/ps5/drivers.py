"""Problem set 5's sandbox drivers (NumPy only: this file is copied into each grading job).

An LSTM's forward returns two states and a cache, ``(h, c, cache)``, and its step backward takes two upstream
gradients, ``(dh, dc, cache)``; the shared ``forward`` and ``backward`` drivers expect ``(out, cache)``. These two
are the same idea for layers with a cell state, and likewise check that a layer leaves its arguments as they were.
"""


def _shared():
    """The shared drivers, already loaded by whoever loaded these: the sandbox's copy of them, or the installed
    package's (the visible check imports it first). Nothing outside the standard library and NumPy is imported."""
    import sys

    return sys.modules.get("_autograder_drivers") or sys.modules["autograder.sandbox.drivers"]


def _states_and_cache(result, name):
    if not (isinstance(result, tuple) and len(result) == 3):
        size = f" of {len(result)} values" if isinstance(result, tuple) else ""
        raise TypeError(f"{name} must return a tuple (h, c, cache); it returned {type(result).__name__}{size}")
    return result


def states(namespace, name, args):
    """A forward with a cell state: the graded output is (h, c); the cache is dropped."""
    h, c, _ = _states_and_cache(_shared().call_unchanged(namespace, name, args), name)
    return h, c


def states_backward(namespace, name, args):
    """The backward of a layer with a cell state, after the student's own forward. A step's backward gets two
    upstream gradients, ``args = forward args + (dh, dc)`` and is called as ``X_backward(dh, dc, cache)``; a whole
    sequence's gets one, ``args = forward args + (dh,)``, called as ``X_backward(dh, cache)`` (the loss reads h only)."""
    forward_name = name[: -len("_backward")] + "_forward"
    upstream = 2 if "_step_" in name else 1
    _, _, cache = _states_and_cache(_shared().call_unchanged(namespace, forward_name, args[:-upstream]), forward_name)
    return _shared().call_unchanged(namespace, name, [*args[-upstream:], cache], checked=upstream)


DRIVERS = {"states": states, "states_backward": states_backward}
