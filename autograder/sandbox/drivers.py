"""How the sandbox calls a student's function: the drivers every problem set shares.

A driver is ``driver(namespace, name, args) -> value``: it receives the student's whole
namespace (the functions as each was right after its own cell ran), so a driver can
call ``conv_forward`` and feed its output to ``conv_backward``. A problem set adds its
own in ``autograder/problemsets/<ps>/drivers.py`` (NumPy only; copied into each job).
The visible checks in the student's notebook call the same drivers.

Layers follow one contract from week 3 on: ``X_forward(x, params..., [param dict]) -> (out,
cache)`` and ``X_backward(dout, cache) -> dx`` or ``(dx, dparam, ...)``. What goes into the
cache is the student's business; the drivers never look inside it.
"""


def call(namespace, name, args):
    """The plain driver: call the graded function once with the case's arguments."""
    return namespace[name](*args)


class InputChanged(Exception):
    """A graded function changed, in place, an array it was given and should have left alone."""


def _first_change(before, after, where):
    """Where ``after`` (an argument after the call) differs from ``before`` (its copy from before the call), or
    None: arrays compared value by value, dicts, lists and tuples entry by entry, anything else ignored."""
    import numpy as np

    if isinstance(before, np.ndarray):
        try:
            same = (isinstance(after, np.ndarray) and after.shape == before.shape
                    and bool(np.array_equal(after, before, equal_nan=before.dtype.kind in "fc")))
        except TypeError:
            same = True  # not comparable value by value (object arrays): not judged
        return None if same else where
    if isinstance(before, dict):
        if not isinstance(after, dict) or set(after) != set(before):
            return f"the keys of {where}"
        for key in before:
            found = _first_change(before[key], after[key], f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(before, (list, tuple)):
        if not isinstance(after, (list, tuple)) or len(after) != len(before):
            return where
        for i, (b, a) in enumerate(zip(before, after)):
            found = _first_change(b, a, f"{where}[{i}]")
            if found:
                return found
    return None


def _unchanged(function, name, given, args):
    """Raises InputChanged when an argument differs from its copy ``given`` taken before the call, naming it by
    the function's signature."""
    import inspect

    try:
        names = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        names = []
    for i, (before, after) in enumerate(zip(given, args)):
        where = _first_change(before, after, names[i] if i < len(names) else f"argument {i + 1}")
        if where:
            raise InputChanged(f"{name} changed {where}, which it was given, in place; leave its arguments as "
                               "they were and return new arrays")


# arguments that a graded function may change in place, by their name in the registry's signature: a backward
# pass's cache is the student's own business; an optimizer's config carries its state from step to step (CS231n's
# contract) and batch norm's bn_param its running statistics
ALWAYS_MAY_CHANGE = ("cache", "config", "bn_param")


def parameter_names(signature: str) -> list[str]:
    """``"affine_forward(x, W, b)"`` -> ``["x", "W", "b"]``."""
    inside = signature[signature.find("(") + 1:signature.rfind(")")] if "(" in signature else ""
    return [part.split("=")[0].strip().lstrip("*") for part in inside.split(",") if part.strip()]


def _leaves_inputs_alone(function, name, names, may_change):
    """``function``, checking on every call that it left each argument it must not change as it found it."""
    import copy
    import functools

    @functools.wraps(function)
    def checked(*args, **kwargs):
        given = {}
        for i, value in enumerate(args):
            label = names[i] if i < len(names) else f"argument {i + 1}"
            if label in may_change:
                continue
            try:
                given[i] = (label, copy.deepcopy(value))
            except Exception:   # an argument that cannot be copied is not judged
                pass
        result = function(*args, **kwargs)
        for i, (label, before) in given.items():
            where = _first_change(before, args[i], label)
            if where:
                raise InputChanged(f"{name} changed {where}, which it was given, in place; leave its arguments as "
                                   "they were and return new arrays")
        return result

    return checked


def guard_inputs(namespace, signatures, may_change=None):
    """A copy of ``namespace`` in which every graded function (``signatures``: {name: the registry's signature})
    checks, on every call a driver makes, that it left its arguments as it found them: a change made in place is an
    error that names the argument, whatever the driver. Arguments named in ALWAYS_MAY_CHANGE, and those a problem
    set's drivers list in ``may_change`` ({name: (argument, ...)}: a driver that checks one itself, with its own
    message), are exempt. The grader and the visible checks call drivers through it alike."""
    view = dict(namespace)
    may_change = may_change or {}
    for name, signature in signatures.items():
        function = view.get(name)
        if callable(function) and not getattr(function, "_leaves_inputs_alone", False):
            wrapped = _leaves_inputs_alone(function, name, parameter_names(signature),
                                           set(ALWAYS_MAY_CHANGE) | set(may_change.get(name, ())))
            wrapped._leaves_inputs_alone = True
            view[name] = wrapped
    return view


def keeps_inputs(namespace, name, args):
    """The plain call, for a function that must leave what it is given as it found it (a training loop starts
    from the given parameters and returns new ones): afterwards every argument is compared with a copy taken
    before the call, and a change is an error that names the argument."""
    return call_unchanged(namespace, name, args)


def call_unchanged(namespace, name, args, checked=None):
    """``name(*args)``, which must leave its first ``checked`` arguments (all, by default) as they were: a layer's
    input or upstream gradient may be an array that another layer still needs (a branch, a residual, a gradient
    check). Problem sets' own drivers use it too."""
    import copy

    args = list(args)
    given = copy.deepcopy(args[:checked])
    value = namespace[name](*args)
    _unchanged(namespace[name], name, given, args[:checked])
    return value


def layer_names(name):
    """("X_forward", "X_backward") for a graded ``X_forward`` or ``X_backward``."""
    base = name.rsplit("_", 1)[0]
    return base + "_forward", base + "_backward"


def out_and_cache(result, name):
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(f"{name} must return a tuple (out, cache); it returned "
                        f"{type(result).__name__}{'' if not isinstance(result, tuple) else f' of {len(result)} values'}")
    return result


def strided(args):
    """``args`` with the first one, when it is a float array, as a view that is not contiguous (every other
    element of a larger buffer, along the last axis): the same values, so that code which assumes a layout
    (``as_strided`` with strides computed from the shape, ``.view``) is caught; correct code never notices."""
    import numpy as np

    args = list(args)
    if args and isinstance(args[0], np.ndarray) and args[0].dtype.kind == "f" and args[0].ndim >= 2:
        x = args[0]
        buffer = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), dtype=x.dtype)
        buffer[..., ::2] = x
        args[0] = buffer[..., ::2]
    return args


def _other_inputs(args):
    """The same arguments with every float array changed (shapes and everything else kept): the input of a second
    layer of the same kind."""
    import numpy as np

    return [-0.5 * a - 0.25 if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args]


def forward(namespace, name, args):
    """A layer's forward pass: ``args`` are its arguments, the input as a non-contiguous view (``strided``); the
    graded output is ``out`` (the cache is dropped). The forward must not change its arguments in place."""
    out, _ = out_and_cache(call_unchanged(namespace, name, strided(args)), name)
    return out


def backward(namespace, name, args):
    """A layer's backward pass, after the student's own forward: ``args`` are the forward's arguments followed
    by the upstream gradient ``dout``. Calls ``X_forward(*args[:-1]) -> (out, cache)``, then
    ``X_backward(dout, cache)``; the graded output is what the backward returns (dx, or (dx, dW, db)). Neither
    may change its arguments in place (the cache is the student's own business). Between the two, the forward runs
    once more on other inputs, as in a network with two such layers, so a backward must read what it needs from its
    cache, not from state the forward left behind."""
    forward_name, _ = layer_names(name)
    _, cache = out_and_cache(call_unchanged(namespace, forward_name, strided(args[:-1])), forward_name)
    namespace[forward_name](*strided(_other_inputs(args[:-1])))  # a second layer of the kind
    return call_unchanged(namespace, name, [args[-1], cache], checked=1)


def _stack(arrays, np):
    return np.stack([np.array(a, dtype=float, copy=True) for a in arrays])


def sequence(namespace, name, args):
    """A layer with state across calls (batch norm's running statistics), over a sequence of calls.

    ``args = (xs, douts, params, state)``: inputs ``xs`` (T, ...), upstream gradients ``douts`` for the
    first T_train calls, the parameters (a list) and the state dict the forward updates in place
    (``state["mode"]`` is set to "train" for the first T_train calls and to "eval" after them).
    For ``X_forward`` the graded output is (every call's out, then each array of the state, by sorted
    key, after every call); for ``X_backward``, the backward's gradients of every train call, stacked."""
    import numpy as np

    xs, douts, params, state = args
    forward_name, backward_name = layer_names(name)
    layer_forward = namespace[forward_name]
    tracked = sorted(k for k, v in state.items() if isinstance(v, np.ndarray))
    outs, snapshots, grads = [], {k: [] for k in tracked}, []
    for t, x in enumerate(xs):
        train = t < len(douts)
        if name == backward_name and not train:
            break
        state["mode"] = "train" if train else "eval"
        out, cache = out_and_cache(layer_forward(x, *params, state), forward_name)
        outs.append(out)
        for k in tracked:  # a copy now: the student may update the array in place
            snapshots[k].append(np.array(state.get(k), dtype=float, copy=True))
        if name == backward_name:
            result = namespace[backward_name](douts[t], cache)
            grads.append(result if isinstance(result, tuple) else (result,))
    if name == backward_name:
        if any(len(g) != len(grads[0]) for g in grads):
            raise TypeError(f"{backward_name} returned a different number of gradients on different calls")
        return tuple(_stack([g[i] for g in grads], np) for i in range(len(grads[0])))
    return (_stack(outs, np), *(_stack(snapshots[k], np) for k in tracked))


DRIVERS = {"call": call, "keeps_inputs": keeps_inputs, "forward": forward, "backward": backward,
           "sequence": sequence}
