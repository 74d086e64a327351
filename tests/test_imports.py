"""Per-function imports: problem set 6's train_mlp_torch may import torch, every other graded function NumPy only.

The registry says which modules each function may import (``GradedFunction.imports``). A function allowed torch
runs in a sandboxed process of its own whose filesystem view holds torch; the other functions run where torch does
not exist, and their cells are checked for imports as before. What comes back is plain arrays either way.
"""
from __future__ import annotations

import pytest

from autograder.authoring import samples
from autograder.grading import isolation
from autograder.grading.grader import Grader
from autograder.grading.notebooks import program_cells
from autograder.grading.policy import packages_for
from autograder.registry import PROBLEM_SET_NAMES, fresh_seed, get_problem_set

PS = "ps6"
try:
    SANDBOX = isolation.detect()  # AUTOGRADER_SANDBOX, when set
except RuntimeError:  # a mode this machine cannot give: every test skips, saying why (conftest)
    SANDBOX = isolation.Isolation("rlimits", False)


@pytest.fixture(scope="module")
def grader():
    with Grader(get_problem_set(PS), fresh_seed()) as g:
        yield g


def grade(notebooks, grader, replacements: dict[str, str]):
    master, release = notebooks[PS]
    nb = samples.with_alternative(master, release, None, replacements) if replacements else \
        samples.full_solution(master, release)
    return grader.grade(program_cells(master, nb))


def test_only_the_torch_function_is_allowed_more_than_numpy():
    allowed = {(ps, fn.name): fn.imports for ps in PROBLEM_SET_NAMES for fn in get_problem_set(ps).functions
               if fn.imports}
    assert allowed == {("ps6", "train_mlp_torch"): ("torch",)}
    assert packages_for(("torch",))[0] == "torch"


def test_the_master_gets_every_point_with_torch_in_its_own_process(notebooks, grader):
    result = grade(notebooks, grader, {})
    assert result.score == get_problem_set(PS).total_points, result.functions


def test_a_numpy_function_that_imports_torch_loses_its_points_only(notebooks, grader):
    master, _ = notebooks[PS]
    source = samples.solution_sources(master)["triplet_loss"].replace(
        "    n = anchor.shape[0]\n", "    import torch\n    n = anchor.shape[0]\n")
    result = grade(notebooks, grader, {"triplet_loss": source})
    failed = {name for name, r in result.functions.items() if not r.passed}
    assert failed == {"triplet_loss"}, result.functions
    message = " ".join(result.functions["triplet_loss"].messages)
    assert "torch" in message and "NumPy only" in message, message


def test_the_torch_function_may_not_import_anything_else(notebooks, grader):
    master, _ = notebooks[PS]
    source = "import sklearn\n" + samples.solution_sources(master)["train_mlp_torch"]
    result = grade(notebooks, grader, {"train_mlp_torch": source})
    message = " ".join(result.functions["train_mlp_torch"].messages)
    assert not result.functions["train_mlp_torch"].passed and "may use NumPy and torch only" in message, message
    assert all(r.passed for name, r in result.functions.items() if name != "train_mlp_torch")


@pytest.mark.skipif(not SANDBOX.hides_files, reason="only bubblewrap keeps torch out of the other functions' view")
def test_torch_does_not_exist_where_the_numpy_functions_run(notebooks, grader):
    """A hidden import (a name the static scan cannot see) fails in a NumPy function's process, while the torch
    function, in its own process, still gets its points."""
    master, _ = notebooks[PS]
    source = samples.solution_sources(master)["principal_angles"].replace(
        "    Qa, _ = np.linalg.qr(A)\n", "    __import__('to' + 'rch')\n    Qa, _ = np.linalg.qr(A)\n")
    result = grade(notebooks, grader, {"principal_angles": source})
    assert not result.functions["principal_angles"].passed
    assert "No module named 'torch'" in " ".join(result.functions["principal_angles"].messages)
    assert result.functions["train_mlp_torch"].passed, result.functions["train_mlp_torch"].messages


def test_returned_tensors_arrive_as_plain_arrays_or_not_at_all(notebooks, grader):
    """Tensors never cross: the sandbox turns what it can into NumPy arrays (a detached CPU tensor) and refuses
    the rest (a tensor that requires grad), with a message; the grader only ever reads arrays."""
    master, _ = notebooks[PS]
    source = samples.solution_sources(master)["train_mlp_torch"]
    detached = source.replace("linear.weight.detach().numpy().T.copy()", "linear.weight.detach().T")
    assert detached != source
    assert grade(notebooks, grader, {"train_mlp_torch": detached}).functions["train_mlp_torch"].passed
    live = source.replace("linear.weight.detach().numpy().T.copy()", "linear.weight.T")
    result = grade(notebooks, grader, {"train_mlp_torch": live}).functions["train_mlp_torch"]
    assert not result.passed and "requires grad" in " ".join(result.messages), result.messages
