"""Bounded parsers for everything the grader reads from a student.

Every byte that comes back from a student's sandboxed process, and every submitted
file, goes through this module before the trusted grading process looks at it. Each
function here bounds the size, depth and count of what it parses and raises only
:class:`Untrusted` for hostile or malformed input: no ``RecursionError``,
``MemoryError``, ``ValueError``, zip error or ``KeyError`` escapes. Nothing is ever
unpickled or executed.

This module imports only the standard library and NumPy (nbformat lazily, inside
:func:`load_notebook`) and nothing else from ``autograder``.
"""
from __future__ import annotations

import ast
import errno
import io
import json
import math
import os
import re
import stat
import sys
import zipfile

import numpy as np

MAX_JSON_DEPTH = 64
MAX_JSON_NODES = 2_000_000      # values in one JSON text (a result file of 16 MiB holds far fewer in practice)
MAX_NOTEBOOK_NODES = 500_000    # values in a notebook: tens of thousands of cells' worth

_MIB = 1 << 20
_NPY_MEMBER = re.compile(r"([A-Za-z0-9_]{1,64})\.npy")
_NPY_MAX_DIMS = 32
_NPY_KINDS = "biuf"
_DECODE_ERROR = "returned a value the grader could not decode"


class Untrusted(Exception):
    """Hostile or malformed input; str(error) is a short message fit for a student's feedback."""


# --------------------------------------------------------------------- files
def read_file(path, limit: int, tail: int | None = None) -> bytes:
    """The bytes of a file written by the sandbox, read without following a symbolic link.

    The file is opened with ``O_RDONLY | O_NOFOLLOW | O_NONBLOCK`` (so a FIFO cannot
    block the grader) and must be a regular file of at most ``limit`` bytes. With
    ``tail``, any size is fine and only the last ``tail`` bytes come back. Only the last
    path component is protected from links: the folders above it must be the grader's.
    """
    name = os.path.basename(os.fspath(path)) or os.fspath(path)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise Untrusted(f"{name} is missing") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise Untrusted(f"{name} is a symbolic link") from None
        raise Untrusted(f"{name} cannot be opened ({error.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Untrusted(f"{name} is not a regular file")
        if tail is not None:
            tail = max(0, tail)
            os.lseek(fd, max(0, info.st_size - tail), os.SEEK_SET)
            return _read_at_most(fd, tail)
        if info.st_size > limit:
            raise Untrusted(f"{name} is larger than {limit} bytes")
        data = _read_at_most(fd, limit + 1)  # one more, in case it grew since fstat
        if len(data) > limit:
            raise Untrusted(f"{name} is larger than {limit} bytes")
        return data
    except OSError as error:
        raise Untrusted(f"{name} cannot be read ({error.strerror})") from None
    finally:
        os.close(fd)


def _read_at_most(fd: int, count: int) -> bytes:
    """Up to ``count`` bytes from ``fd``, stopping early at end of file."""
    chunks = []
    while count > 0:
        chunk = os.read(fd, min(count, _MIB))
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


# --------------------------------------------------------------------- JSON
def check_json_depth(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`Untrusted` if the JSON text nests arrays/objects deeper than ``max_depth``.

    Vectorised with NumPy, linear in the size. Brackets inside string literals do not
    count: a quote ends or starts a string unless an odd run of backslashes precedes
    it. (A regular expression for string literals would be simpler, but it goes
    quadratic on an unterminated string full of escaped quotes.) For text that is not
    valid JSON the count may be off, but only after the point where ``json.loads``
    stops with an error, so the parser never recurses deeper than this check allows.
    """
    try:
        depth = _json_depth(raw, max_depth)
    except Exception:  # e.g. MemoryError, or raw that is not bytes
        raise Untrusted("the JSON text could not be checked") from None
    if depth > max_depth:
        raise Untrusted(f"nests more than {max_depth} levels of brackets")


def _json_depth(raw: bytes, max_depth: int) -> int:
    """Deepest nesting of brackets outside string literals (0 when it cannot exceed ``max_depth``)."""
    return _json_shape(raw, max_depth, None)[0]


def _json_shape(raw: bytes, max_depth: int, max_nodes: int | None) -> tuple[int, int]:
    """(deepest nesting, number of values) of the JSON text, counting brackets and commas outside
    string literals; (0, 0) for a figure that cannot exceed its limit anyway."""
    data = np.frombuffer(raw, dtype=np.uint8)
    opens = (data == ord("[")) | (data == ord("{"))
    commas = data == ord(",")
    n_opens = int(np.count_nonzero(opens))
    if n_opens <= max_depth and (max_nodes is None or n_opens + int(np.count_nonzero(commas)) + 1 <= max_nodes):
        return 0, 0
    closes = (data == ord("]")) | (data == ord("}"))
    quotes = data == ord('"')
    # a quote right after an odd-length run of backslashes is escaped: part of a string
    slashes = np.flatnonzero(data == ord("\\"))
    if slashes.size:
        breaks = np.flatnonzero(np.diff(slashes) != 1)
        run_ends = np.append(slashes[breaks], slashes[-1])
        run_starts = np.insert(slashes[breaks + 1], 0, slashes[0])
        escaped = run_ends[(run_ends - run_starts) % 2 == 0] + 1
        quotes[escaped[escaped < data.size]] = False
    outside = np.bitwise_xor.accumulate(quotes.view(np.uint8)) == 0
    nodes = int(np.count_nonzero((opens | commas) & outside)) + 1
    steps = (opens.view(np.int8) - closes.view(np.int8)) * outside.view(np.int8)
    steps = steps[steps != 0]  # only the brackets, usually far fewer than the bytes
    return (int(np.cumsum(steps, dtype=np.int32).max()) if steps.size else 0), nodes


def _parse_json(raw, name: str, max_bytes: int, max_depth: int, max_nodes: int = MAX_JSON_NODES,
                not_text: str = "is not valid UTF-8", invalid_hint: str = ""):
    """``json.loads`` of ``raw`` behind size, UTF-8 and depth checks; messages start with ``name``."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise Untrusted(f"{name} is not bytes")
    raw = bytes(raw)
    if len(raw) > max_bytes:
        raise Untrusted(f"{name} is {len(raw) / _MIB:.1f} MiB; the limit is {max_bytes / _MIB:.0f} MiB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Untrusted(f"{name} {not_text}") from None
    try:
        depth, nodes = _json_shape(raw, max_depth, max_nodes)
    except Exception:  # e.g. MemoryError
        raise Untrusted(f"{name} could not be checked") from None
    if depth > max_depth:
        raise Untrusted(f"{name} nests more than {max_depth} levels of lists or objects")
    if nodes > max_nodes:
        # millions of tiny values would cost gigabytes once parsed, whatever the file's size
        raise Untrusted(f"{name} holds more than {max_nodes} JSON values")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        detail = f"line {error.lineno}, column {error.colno}: {error.msg}"
        raise Untrusted(f"{name} is not valid JSON ({detail}){invalid_hint}") from None
    except Exception as error:  # e.g. a 5000-digit integer (ValueError), MemoryError
        raise Untrusted(f"{name} could not be parsed ({type(error).__name__})") from None


def load_json(raw: bytes, *, max_bytes: int, max_depth: int = MAX_JSON_DEPTH, max_nodes: int = MAX_JSON_NODES):
    """Parsed JSON from ``raw`` after size, depth and value-count checks; anything wrong is :class:`Untrusted`."""
    return _parse_json(raw, "the data", max_bytes, max_depth, max_nodes)


# --------------------------------------------------------------------- npz
def load_npz(raw: bytes, *, max_bytes: int, max_members: int = 4096) -> dict[str, np.ndarray]:
    """Arrays from an ``.npz`` written with ``np.savez`` (stored, not compressed).

    Refuses compressed members (so the unpacked size is bounded by the file's size:
    no zip bombs), a total declared size over ``max_bytes``, too many members, odd
    member names, and any ``.npy`` member whose header is invalid, whose dtype is not
    bool/int/uint/float, or whose shape does not match the bytes present exactly.
    Headers are parsed with ``numpy.lib.format``; nothing is ever unpickled.
    """
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise Untrusted("the arrays file is not bytes")
    if len(raw) > max_bytes:
        raise Untrusted(f"the arrays file is larger than {max_bytes} bytes")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
            if len(members) > max_members:
                raise Untrusted(f"the arrays file has more than {max_members} members")
            if any(m.compress_type != zipfile.ZIP_STORED for m in members):
                raise Untrusted("the arrays file has compressed members")
            if sum(m.file_size for m in members) > max_bytes:
                raise Untrusted(f"the arrays file declares more than {max_bytes} bytes")
            arrays = {}
            for member in members:
                match = _NPY_MEMBER.fullmatch(member.filename)
                if match is None or match.group(1) in arrays:
                    raise Untrusted("the arrays file has an unexpected member name")
                arrays[match.group(1)] = _parse_npy(archive.read(member))
            return arrays
    except Untrusted:
        raise
    except Exception:  # BadZipFile, EOFError, CRC errors, encrypted members, MemoryError...
        raise Untrusted("the arrays file is not a valid .npz archive") from None


def _parse_npy(data: bytes) -> np.ndarray:
    """One ``.npy`` member as a fresh, writeable array of a plain numeric dtype."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported version {version}")
    except Exception:
        raise Untrusted("an array in the arrays file has an invalid header") from None
    if dtype.kind not in _NPY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise Untrusted(f"an array in the arrays file has dtype {dtype} (expected real numbers)")
    if len(shape) > _NPY_MAX_DIMS or any(n < 0 for n in shape):
        raise Untrusted("an array in the arrays file has an invalid shape")
    offset = stream.tell()
    if math.prod(shape) * dtype.itemsize != len(data) - offset:
        raise Untrusted("an array in the arrays file does not match its declared shape")
    flat = np.frombuffer(data, dtype=dtype, offset=offset)
    if dtype.kind == "b":  # bytes other than 0 and 1 would make odd booleans
        flat = flat.view(np.uint8) != 0
    order = "F" if fortran_order else "C"
    return flat.reshape(shape, order=order).copy(order="K")


# --------------------------------------------------------------------- notebooks
def load_notebook(raw: bytes, *, max_bytes: int, name: str = "the notebook",
                  max_depth: int = MAX_JSON_DEPTH, max_nodes: int = MAX_NOTEBOOK_NODES):
    """A submitted ``.ipynb`` as an nbformat ``NotebookNode``, or :class:`Untrusted` saying what is wrong.

    Like ``nbformat.from_dict``, this keeps the file's own form: a cell's source may
    still be a list of lines, and the notebook is not validated against the schema.
    """
    if not raw:
        raise Untrusted(f"{name} is empty")
    data = _parse_json(raw, name, max_bytes, max_depth, max_nodes,
                       not_text="is not a text file (is it really a notebook?)",
                       invalid_hint="; was it saved completely?")
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise Untrusted(f"{name} is JSON but not a notebook (no list of cells)")
    try:
        import nbformat

        return nbformat.from_dict(data)
    except Exception:
        raise Untrusted(f"{name} could not be read as a notebook") from None


# --------------------------------------------------------------------- sources
class ScanFault(Exception):
    """The import scan failed for a reason that is not the cell's content: the grader's fault, not the student's."""


def scan_imports(source: str, allowed: tuple[str, ...] = ("numpy",), max_chars: int = 1_000_000) -> list[str]:
    """Top-level modules that ``source`` imports outside ``allowed`` and the standard library.

    Found statically with :mod:`ast`, never executed: ``import x``, absolute
    ``from x import y``, and ``__import__("x")`` / ``importlib.import_module("x")`` /
    ``import_module("x")`` with a constant string first argument. A syntax error gives
    ``[]`` (the sandbox reports it); any other failure to parse is :class:`Untrusted`.
    """
    def refuse(reason: str):
        return Untrusted(f"this cell cannot be graded: {reason}")

    if not isinstance(source, str):
        raise refuse("its source is not text")
    if len(source) > max_chars:
        raise refuse(f"it is longer than {max_chars} characters")
    if "\0" in source:
        raise refuse("it contains a null byte")
    for attempt in (1, 2):
        try:
            tree = ast.parse(source)
            break
        except SyntaxError:
            return []
        except RecursionError:
            raise refuse("it is nested too deeply") from None
        except MemoryError:
            raise refuse("it is too complex to parse") from None
        except (ValueError, OverflowError) as error:  # what a cell's own text can make the parser raise
            raise refuse(f"it could not be parsed ({type(error).__name__})") from None
        except Exception as error:
            # anything else (a SystemError when something interrupted the parser) is not the cell's doing: a second
            # try, then a fault of the grader, never a refusal blamed on the student
            if attempt == 2:
                raise ScanFault(f"the grader's import scan failed twice on a cell ({type(error).__name__}: "
                                f"{str(error)[:200]}); the cell itself parses as Python or not, whatever it holds, so "
                                f"this is the grader's fault") from error

    names = set()
    try:
        for node in ast.walk(tree):  # breadth-first, no recursion
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Call) and _is_import_call(node.func) and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.add(first.value)
    except Exception as error:
        raise refuse(f"it could not be scanned ({type(error).__name__})") from None
    tops = {name.split(".")[0] for name in names if not name.startswith(".")}
    return sorted(top for top in tops
                  if top and top not in allowed and top not in sys.stdlib_module_names)


def _is_import_call(func: ast.expr) -> bool:
    """``__import__``, ``import_module`` or ``<anything>.import_module`` / ``.__import__``."""
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr in ("__import__", "import_module")


# --------------------------------------------------------------------- values
_SPEC_KEYS = {
    "none": {"t"}, "bool": {"t", "v"}, "int": {"t", "v"}, "float": {"t", "v"}, "str": {"t", "v"},
    "tuple": {"t", "items"}, "list": {"t", "items"}, "dict": {"t", "items"}, "array": {"t", "k"},
}


def decode_value(spec, arrays: dict, *, max_depth: int = 8, max_items: int = 100_000):
    """The value a sandboxed call returned, from the plain-data spec its encoder wrote.

    A scalar at the top has depth 1 and each enclosing tuple/list/dict adds one; more
    than ``max_depth`` levels or ``max_items`` specs in total, or anything malformed,
    is :class:`Untrusted`. Arrays are looked up by key in ``arrays`` (from
    :func:`load_npz`).
    """
    budget = [max_items]

    def decode(spec, depth):
        budget[0] -= 1
        if depth > max_depth or budget[0] < 0:
            raise ValueError("too deep or too many items")
        if not isinstance(spec, dict) or set(spec) != _SPEC_KEYS.get(spec.get("t")):
            raise ValueError("malformed spec")
        kind, value = spec["t"], spec.get("v")
        if kind == "none":
            return None
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "int" and isinstance(value, int):
            return int(value)
        if kind == "float" and isinstance(value, (int, float)):
            return float(value)
        if kind == "str" and isinstance(value, str):
            return value[:1000]
        items = spec.get("items")
        if kind in ("tuple", "list") and isinstance(items, list):
            decoded = [decode(item, depth + 1) for item in items]
            return tuple(decoded) if kind == "tuple" else decoded
        if kind == "dict" and isinstance(items, dict) and all(isinstance(k, str) for k in items):
            return {key: decode(item, depth + 1) for key, item in items.items()}
        if kind == "array" and isinstance(spec["k"], str) and isinstance(arrays.get(spec["k"]), np.ndarray):
            return arrays[spec["k"]]
        raise ValueError("malformed spec")

    try:
        return decode(spec, 1)
    except Exception:  # ValueError, OverflowError, RecursionError, MemoryError...
        raise Untrusted(_DECODE_ERROR) from None
