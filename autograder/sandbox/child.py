"""Runs one student's solution cells and calls their graded functions.

This file is copied into a fresh job folder and started as its own process by the
harness (``python -I -S child.py JOB_DIR``). It imports only the standard library and
NumPy, never PyTorch, the references or the expected outputs: it cannot leak what it
does not have. Everything it writes is plain data (JSON and ``.npz`` arrays); the
grader decodes it with pickles off and decides the verdict in its own process.

Protocol: progress lines go to the file descriptor named in job.json
("B" once Python, NumPy and the inputs are loaded, before any notebook code runs;
"C <cell>" before each cell, "R" when the cells are done, "S <i>" / "D <i>" around
graded function number i). A process that dies before "B" is the grader's fault, never
the student's. Results go to ``result_<i>.json`` and ``result_<i>.npz``.
"""
import copy
import json
import os
import sys
import traceback

MAX_DEPTH = 4
MAX_ITEMS = 64
MAX_MESSAGE = 2000


# --------------------------------------------------------------------- codec
def encode(value, arrays, np, depth=0):
    """Plain data as a JSON-able spec; arrays go into ``arrays`` under fresh keys.

    Used by the grader for inputs and by the child for a student's return values, so
    anything unusual (ndarray subclasses, objects with ``__array__``) is converted to a
    base ndarray copy or refused here, inside the sandbox.
    """
    if depth > MAX_DEPTH:
        raise TypeError("return value is nested too deeply")
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, int) and not isinstance(value, bool):
        return {"t": "int", "v": int(value)} if abs(value) < 2 ** 62 else {"t": "float", "v": float(value)}
    if isinstance(value, float):
        return {"t": "float", "v": float(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value[:1000]}
    if isinstance(value, (tuple, list)):
        if len(value) > MAX_ITEMS:
            raise TypeError(f"returned a sequence of {len(value)} items")
        return {"t": "tuple" if isinstance(value, tuple) else "list",
                "items": [encode(v, arrays, np, depth + 1) for v in value]}
    if isinstance(value, dict):
        if len(value) > MAX_ITEMS or not all(isinstance(k, str) for k in value):
            raise TypeError("returned a dict that is too large or has non-string keys")
        return {"t": "dict", "items": {str(k): encode(v, arrays, np, depth + 1) for k, v in value.items()}}
    if isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "__array__"):
        array = np.array(value, copy=True)
        if type(array) is not np.ndarray:
            array = array.view(np.ndarray)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"returned an array of dtype {array.dtype} (expected real numbers)")
        if array.ndim == 0:
            kind = array.dtype.kind
            if kind == "b":
                return {"t": "bool", "v": bool(array)}
            if kind in "iu":
                return {"t": "int", "v": int(array)}
            return {"t": "float", "v": float(array)}
        key = f"a{len(arrays)}"
        arrays[key] = np.ascontiguousarray(array)
        return {"t": "array", "k": key}
    raise TypeError(f"returned an object of type {type(value).__name__}")


def decode(spec, arrays):
    """Inverse of :func:`encode`; never executes anything (arrays are loaded without pickles)."""
    kind = spec["t"]
    if kind == "none":
        return None
    if kind == "bool":
        return bool(spec["v"])
    if kind == "int":
        return int(spec["v"])
    if kind == "float":
        return float(spec["v"])
    if kind == "str":
        return str(spec["v"])
    if kind == "tuple":
        return tuple(decode(s, arrays) for s in spec["items"])
    if kind == "list":
        return [decode(s, arrays) for s in spec["items"]]
    if kind == "dict":
        return {str(k): decode(s, arrays) for k, s in spec["items"].items()}
    if kind == "array":
        return arrays[spec["k"]]
    raise ValueError(f"unknown value kind {kind!r}")


# --------------------------------------------------------------------- drivers
def drive_call(function, args):
    """The plain driver: call the student's function once with the case's arguments."""
    return function(*args)


def drive_optimizer(update, args):
    """Run ``update(w, dw, config) -> (next_w, config)`` once per row of ``grads``, feeding
    the returned config back in; the graded output is the trajectory of w."""
    import numpy as np

    w, grads, config = args
    trajectory = []
    for dw in grads:
        w, config = update(w, dw.copy(), config)
        trajectory.append(np.array(w, dtype=float, copy=True))
    return np.stack(trajectory)


DRIVERS = {"call": drive_call, "optimizer": drive_optimizer}


# --------------------------------------------------------------------- running
class _NoIPython:
    """Stands in for ``get_ipython()``: magics such as %matplotlib do nothing here."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def short_traceback(error, limit=MAX_MESSAGE):
    """The student's part of a traceback, without the harness frames."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith("<")]
    lines = [f"  {f.filename}, line {f.lineno}, in {f.name}" for f in frames[-5:]]
    text = "\n".join(lines + [f"{type(error).__name__}: {error}"])
    return text[-limit:]


def set_limits(limits):
    import resource

    for name, value in limits.items():
        which = getattr(resource, name, None)
        if which is None:
            continue
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass


def main(job_dir):
    with open(os.path.join(job_dir, "job.json")) as f:
        job = json.load(f)
    progress = os.fdopen(job["progress_fd"], "w", buffering=1)

    def say(line):
        try:
            progress.write(line + "\n")
            progress.flush()
        except Exception:
            pass

    set_limits(job.get("rlimits", {}))
    sys.path[:0] = job.get("sys_path", [])
    import numpy as np

    with np.load(os.path.join(job_dir, "inputs.npz"), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    functions = job["functions"]
    cases = [[decode(spec, arrays) for spec in fn["cases"]] for fn in functions]
    say("B")

    namespace = {"__name__": "__main__", "get_ipython": _NoIPython}
    cell_errors = {}
    for cell in job["cells"]:
        say(f"C {cell['id']}")
        try:
            exec(compile(cell["source"], f"<cell {cell['id']}>", "exec"), namespace)
        except BaseException as error:  # SystemExit and KeyboardInterrupt included
            cell_errors[cell["id"]] = short_traceback(error)
    with open(os.path.join(job_dir, "cells.json"), "w") as f:
        json.dump(cell_errors, f)
    say("R")

    allowed = set(job.get("allowed_modules", ["numpy"])) | set(sys.stdlib_module_names)
    for index in job["run"]:
        fn = functions[index]
        modules_before = set(sys.modules)
        say(f"S {index}")
        outcomes, out_arrays = [], {}
        function = namespace.get(fn["name"])
        for args in cases[index]:
            if not callable(function):
                outcomes.append({"error": f"{fn['name']} is not defined (or not a function)"})
                continue
            try:
                fresh = [copy.deepcopy(a) for a in args]
                value = DRIVERS[fn["driver"]](function, fresh)
                outcomes.append({"value": encode(value, out_arrays, np)})
            except BaseException as error:
                message = short_traceback(error)
                if getattr(error, "errno", None) == 27:  # EFBIG: over RLIMIT_FSIZE
                    limit = job.get("rlimits", {}).get("RLIMIT_FSIZE", 0) // 2 ** 20
                    message = f"wrote more output than the {limit} MiB limit (File too large)"
                elif isinstance(error, MemoryError):
                    limit = job.get("rlimits", {}).get("RLIMIT_AS", 0) // 2 ** 20
                    message += f"\n(out of memory: the limit is {limit} MiB)"
                outcomes.append({"error": message})
                if isinstance(error, MemoryError) or getattr(error, "errno", None) == 27:
                    break  # out of memory or over the output limit: the other cases would only repeat it
        # modules without a file are runtime artefacts (Cython's shared-type modules, for example)
        imported = {m.split(".")[0] for m in set(sys.modules) - modules_before
                    if getattr(sys.modules.get(m), "__file__", None)}
        np.savez(os.path.join(job_dir, f"result_{index}.npz"), **out_arrays)
        with open(os.path.join(job_dir, f"result_{index}.json"), "w") as f:
            json.dump({"outcomes": outcomes, "imports": sorted(imported - allowed)}, f)
        say(f"D {index}")
    progress.close()
    os._exit(0)  # skip interpreter teardown: student atexit hooks and __del__ never run


if __name__ == "__main__":
    main(sys.argv[1])
