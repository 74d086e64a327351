"""Hostile submissions: each is (name, {grade_id: source}) replacing cells of the full solution.

Every one keeps the graded functions it tampers for *wrong* (or missing), so a fair
grader gives those functions 0 points; the tests check that tampering never helps.
"""

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
fake = types.ModuleType("autograder.visible")
fake.check = lambda *args, **kwargs: print("all cases passed")
sys.modules["autograder.visible"] = fake
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
    blocks = []
    while True:
        blocks.append(bytearray(100 * 2**20))
'''),
    "segfault": ("predict", '''import ctypes
def predict(X, w, b):
    ctypes.string_at(0)
'''),
    "object_array": ("predict", '''def predict(X, w, b):
    return np.array([object()] * len(X))
'''),
}
