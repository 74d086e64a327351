"""The plain-data codec, sandbox side: decode the case inputs, encode what the student returns.

Runs inside the sandbox (standard library and NumPy only, nothing from the trusted side).
A value becomes a JSON-able spec; arrays go into a dict that the child saves as an
uncompressed ``.npz``. Anything unusual (ndarray subclasses, objects with ``__array__``,
object arrays, deep nesting) is converted to a base ndarray copy or refused *here*, so the
trusted process only ever reads plain numbers. The trusted side has its own reader
(``autograder/grading/untrusted.py``) and never imports this file.
"""
MAX_DEPTH = 4
MAX_ITEMS = 64


def encode(value, arrays, np, depth=0):
    """``value`` as a spec; its arrays are stored in ``arrays`` under fresh keys."""
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
    """The case inputs the trusted side wrote (inverse of its encoder)."""
    kind = spec["t"]
    if kind == "none":
        return None
    if kind in ("bool", "int", "float", "str"):
        return {"bool": bool, "int": int, "float": float, "str": str}[kind](spec["v"])
    if kind == "tuple":
        return tuple(decode(s, arrays) for s in spec["items"])
    if kind == "list":
        return [decode(s, arrays) for s in spec["items"]]
    if kind == "dict":
        return {str(k): decode(s, arrays) for k, s in spec["items"].items()}
    if kind == "array":
        return arrays[spec["k"]]
    raise ValueError(f"unknown value kind {kind!r}")
