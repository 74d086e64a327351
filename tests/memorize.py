"""A submission that memorizes instead of implementing: the threat a predictable grading seed invites.

The case generators are public (students install the package for the visible checks), so a
student who knows, or can guess, a grading seed can compute the hidden cases and their
reference outputs in their own checkout and submit functions that implement nothing: a
table from a hash of the arguments to the stored output. This module builds exactly such a
submission, for the tests to check that it scores no more than the untouched release once
every grading run draws a fresh seed.

Nothing here is a test; the tests import it. The tables are built in the trusted process
(``fn.cases(seed)`` and ``run_reference``); the generated cells use NumPy and the standard
library only, as the sandbox demands.
"""
from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import numpy as np

from autograder.grading.references import run_reference
from autograder.authoring.samples import fill
from autograder.registry import VISIBLE_SEED, get_problem_set

HISTORICAL_SEED = 2718281
"""The grading seed nbgrader_config.py used to ship with (``c.Harness.grading_seed``)."""

# Something named like *seed* (an attribute, a variable, a keyword or a dict key, commented out
# or not) given an integer: `c.Harness.grading_seed = <n>`, `seed=5`, `"seed": 0x2a`.
_SEED_ASSIGNMENT = re.compile(
    r"""(?ix) (?<![\w.]) (?: [A-Za-z_][\w.]* )? seed \w* ["']? \s*
        (?: : \s* [A-Za-z_][\w.\[\], ]*? \s* =(?!=) | =(?!=) | : ) \s* \(? \s*
        ( [-+]? (?: 0x[0-9a-f_]+ | 0o[0-7_]+ | 0b[01_]+ | \d[\d_]* ) ) (?![\w.])""")


def candidate_seeds(checkout: Path) -> list[int]:
    """Every seed a student could guess from their checkout: VISIBLE_SEED, 2718281 (the historical default),
    and every integer assigned to something named like *seed* in nbgrader_config.py (regex, no exec)."""
    seeds = [VISIBLE_SEED, HISTORICAL_SEED]
    config = Path(checkout) / "nbgrader_config.py"
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for match in _SEED_ASSIGNMENT.finditer(text):
        try:
            seed = int(match.group(1).replace("_", ""), 0)
        except ValueError:
            continue
        if seed >= 0:  # NumPy's SeedSequence (so the grader) refuses negative seeds
            seeds.append(seed)
    return list(dict.fromkeys(seeds))


# ------------------------------------------------------------------ the key
# The same text runs here (exec'd below) and in the sandbox (embedded in every cell), so the key
# is computed by identical code on both sides. Arrays: dtype kind normalized (float -> <f8, bool
# and int -> <i8), shape and bytes; scalars (0-d arrays and NumPy scalars included): repr of the
# float value; strings; dicts by sorted keys; tuples and lists element-wise.
KEY_SOURCE = '''
import copy as _memo_copy
import hashlib as _memo_hashlib
import numpy as _memo_np


def _memo_feed(h, v):
    if isinstance(v, _memo_np.ndarray) and v.ndim > 0:
        kind = v.dtype.kind
        if kind in "fbiu":
            a = _memo_np.ascontiguousarray(v, dtype="<f8" if kind == "f" else "<i8")
            h.update(("A%s%r|" % (a.dtype.str, tuple(int(s) for s in a.shape))).encode())
            h.update(a.tobytes())
            return
        h.update(("O%r|" % (v.tolist(),)).encode())
        return
    if isinstance(v, (_memo_np.ndarray, _memo_np.generic)):
        v = v.item()
    if v is None:
        h.update(b"N|")
    elif isinstance(v, (bool, int, float)):
        try:
            text = repr(float(v))
        except OverflowError:
            text = repr(int(v))
        h.update(("F%s|" % text).encode())
    elif isinstance(v, str):
        data = v.encode("utf-8", "surrogatepass")
        h.update(b"S%d:" % len(data) + data)
    elif isinstance(v, dict):
        keys = sorted(v, key=str)
        h.update(b"D%d{" % len(keys))
        for k in keys:
            _memo_feed(h, str(k))
            _memo_feed(h, v[k])
        h.update(b"}")
    elif isinstance(v, (tuple, list)):
        h.update(b"L%d[" % len(v))
        for x in v:
            _memo_feed(h, x)
        h.update(b"]")
    else:
        h.update(("R%s:%r|" % (type(v).__name__, v)).encode())


def _memo_key(args):
    h = _memo_hashlib.sha256()
    _memo_feed(h, tuple(args))
    return h.hexdigest()[:32]


def _memo_A(dtype, shape, values):
    return _memo_np.array(values, dtype=dtype).reshape(shape)


def _memo_zeros(v):
    """Something of the same structure, all zeros: plausible, and wrong."""
    if isinstance(v, _memo_np.ndarray):
        return _memo_np.zeros_like(v)
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return 0
    if isinstance(v, float):
        return 0.0
    if isinstance(v, tuple):
        return tuple(_memo_zeros(x) for x in v)
    if isinstance(v, list):
        return [_memo_zeros(x) for x in v]
    if isinstance(v, dict):
        return {k: _memo_zeros(x) for k, x in v.items()}
    return v
'''

_key_namespace: dict = {}
exec(compile(KEY_SOURCE, "<memorize key>", "exec"), _key_namespace)
memo_key = _key_namespace["_memo_key"]
"""The key of a tuple of arguments, exactly as the generated cells compute it."""


# ------------------------------------------------------------------ literals
def _float_literal(x: float) -> str:
    x = float(x)
    if math.isnan(x):
        return 'float("nan")'
    if math.isinf(x):
        return 'float("inf")' if x > 0 else 'float("-inf")'
    return repr(x)


def _literal(value) -> str:
    """Python source that evaluates (with KEY_SOURCE's helpers) to ``value``, bit for bit."""
    if isinstance(value, np.ndarray):
        kind = value.dtype.kind
        if kind == "b":
            dtype, items = "bool", ["True" if v else "False" for v in value.ravel().tolist()]
        elif kind in "iu":
            dtype, items = "int64", [repr(int(v)) for v in value.ravel().tolist()]
        elif kind == "f":
            dtype, items = "float64", [_float_literal(v) for v in value.ravel().tolist()]
        else:
            raise TypeError(f"cannot memorize an array of dtype {value.dtype}")
        shape = tuple(int(s) for s in value.shape)
        return f"_memo_A({dtype!r}, {shape!r}, [{', '.join(items)}])"
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        return _float_literal(value)
    if isinstance(value, tuple):
        return "(" + "".join(_literal(v) + ", " for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot memorize a value of type {type(value).__name__}")


def _parameters(signature: str) -> list[str]:
    tree = ast.parse(f"def {signature}:\n    pass\n")
    return [a.arg for a in tree.body[0].args.args]


# ------------------------------------------------------------------ tables
def _table(fn, seeds: list[int]) -> dict[str, object]:
    """key -> expected output (per call, or per optimizer step), over every case of every seed."""
    table: dict[str, object] = {}
    for seed in seeds:
        for case in fn.cases(seed):
            if fn.judged_by_check(case):
                continue  # judged by a property on held-out data: nothing to look up
            expected = run_reference(fn, case)
            if fn.driver == "optimizer":
                w, grads, config = case.args
                trajectory = np.asarray(expected, dtype=np.float64)
                for dw, next_w in zip(grads, trajectory):
                    # the driver feeds back the w and the config we return: next_w and config itself
                    table.setdefault(memo_key((w, dw, config)), next_w)
                    w = next_w
            elif fn.driver in ("call", "keeps_inputs"):
                table.setdefault(memo_key(case.args), expected)
            else:
                raise ValueError(f"{fn.name}: no memorizer for driver {fn.driver!r}")
    return table


def memorizing_source(problem_set: str, name: str, seeds: list[int]) -> str:
    """Python source (a solution cell) defining the graded function `name` with the registry's signature.
    It implements nothing: it hashes its arguments and looks the result up in a table built here, in the
    trusted process, from fn.cases(seed) and run_reference(fn, case) for every seed. On a miss it returns
    something plausible but wrong (e.g. zeros of the memorized output shape), never raises.
    Functions with no reference (fn.reference is None; judged by a `check`) get a table of nothing: they
    just raise NotImplementedError."""
    fn = get_problem_set(problem_set)[name]
    if fn.reference is None:
        return (f"# memorized: nothing ({name} has no reference output to memorize)\n"
                f"def {fn.signature}:\n    raise NotImplementedError()\n")
    table = _table(fn, seeds)
    params = _parameters(fn.signature)
    table_name = f"_MEMO_{name}"
    lines = [f"# memorized: {name} on seeds {list(seeds)} ({len(table)} entries); implements nothing",
             "import numpy as np", KEY_SOURCE.strip(), "", f"{table_name} = {{"]
    lines += [f"    {key!r}: {_literal(value)}," for key, value in table.items()]
    lines += ["}", "", ""]
    lines.append(f"def {fn.signature}:")
    if fn.driver == "optimizer":
        w, dw, config = params
        lines += [
            "    try:",
            f"        hit = {table_name}.get(_memo_key(({w}, {dw}, {config})))",
            "    except Exception:",
            "        hit = None",
            "    if hit is not None:",
            f"        return hit.copy(), {config}",
            "    try:",
            f"        return _memo_np.zeros(_memo_np.shape({w})), {config}",
            "    except Exception:",
            f"        return {w}, {config}",
        ]
    else:
        args = "(" + "".join(f"{p}, " for p in params) + ")"
        lines += [
            "    try:",
            f"        hit = {table_name}.get(_memo_key({args}))",
            "    except Exception:",
            "        hit = None",
            "    if hit is not None:",
            "        return _memo_copy.deepcopy(hit)",
            f"    for value in {table_name}.values():",
            "        return _memo_zeros(value)",
            "    return None",
        ]
    return "\n".join(lines) + "\n"


def memorizing_notebook(problem_set: str, master_nb, release_nb, seeds: list[int]):
    """The release notebook with every graded function's solution cell replaced by memorizing_source
    (use autograder.authoring.samples.fill)."""
    ps = get_problem_set(problem_set)
    return fill(release_nb, {fn.name: memorizing_source(problem_set, fn.name, seeds) for fn in ps.functions})
