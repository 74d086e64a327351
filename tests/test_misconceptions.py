"""Known wrong conventions: each is named for the planted bug that makes it, and for nothing else.

A misconception (``GradedFunction.misconceptions``) is a PyTorch variant of the reference. When every
failing case of a student matches it, the feedback adds one line naming the convention. These tests
grade the planted bugs of ``samples/`` through the real sandbox and the visible ``check()``, with
fresh grading seeds (each run draws its own; the seed is in every assertion message).
"""
from __future__ import annotations

import numpy as np
import pytest

from autograder.authoring import samples
from autograder.grading.references import run_reference, run_variant
from autograder.grading.compare import compare_outputs
from autograder.grading.grader import Grader
from autograder.grading.notebooks import program_cells
from autograder.registry import PROBLEM_SET_NAMES, VISIBLE_SEED, fresh_seed, get_problem_set
from autograder.student.visible import check

HINT = "Your answers match a known mistake: "

# (problem set, function, misconception) -> the planted bug (its description in MUTANTS) that makes it
PLANTED = {
    ("ps1", "predict", "sign_of_zero_is_zero"): "np.sign gives 0 on the hyperplane",
    ("ps1", "predict", "zero_as_negative"): "score 0 predicted as -1",
    ("ps1", "perceptron_update", "on_hyperplane_is_correct"): "a point on the hyperplane is not a mistake",
    ("ps1", "train_perceptron", "on_hyperplane_is_correct"): "strict inequality: never leaves w = 0",
    ("ps1", "hinge_sgd_step", "kink_counted_as_sloped"): "kink counted as sloped",
    ("ps2", "hinge_loss", "kink_counted_as_sloped"): "kink counted as sloped",
    ("ps2", "softmax", "over_columns_row_shift"): "normalized over the wrong axis",
    ("ps2", "sgd", "decoupled_weight_decay"): "decoupled weight decay (not torch's SGD)",
    ("ps2", "adagrad", "eps_inside_sqrt"): "eps inside the square root",
    ("ps2", "rmsprop", "eps_inside_sqrt"): "eps inside the square root",
    ("ps2", "adam", "no_bias_correction"): "no bias correction",
    ("ps2", "adam", "eps_inside_sqrt"): "eps inside the square root",
    ("ps2", "adam", "decoupled_weight_decay"): "decoupled weight decay (AdamW)",
    ("ps3", "affine_backward", "db_not_summed"): "db not summed over the batch",
    ("ps3", "relu_backward", "slope_one_at_zero"): "slope 1 at x = 0",
    ("ps3", "softmax_loss", "summed"): "summed over the batch instead of averaged",
    ("ps3", "mse_loss", "halved"): "the factor 1/2 of the squared loss",
    ("ps3", "mse_loss", "per_example"): "averaged over the examples only",
    ("ps3", "batchnorm_forward", "running_var_biased"): "running variance from the biased batch variance",
    ("ps3", "batchnorm_forward", "momentum_swapped"): "momentum used the other way round",
    ("ps3", "batchnorm_forward", "normalize_unbiased"): "normalized with the unbiased variance",
    ("ps3", "numerical_gradient", "forward_differences"): "one-sided (forward) differences",
    ("ps3", "train_mlp", "summed"): "minibatch gradient summed instead of averaged",
    ("ps4", "conv_forward_naive", "flipped"): "kernel flipped (true convolution)",
    ("ps4", "conv_forward", "flipped"): "kernel flipped (true convolution)",
    ("ps4", "conv_forward", "padded_one_side"): "padding on one side only",
    ("ps4", "conv_backward", "db_not_summed"): "db not summed over the positions",
    ("ps4", "max_pool_backward", "every_tie"): "gradient sent to every tied maximum",
    ("ps4", "conv1d_forward", "flipped"): "kernel flipped (true convolution)",
    ("ps4", "conv_dilated_forward", "flipped"): "kernel flipped (true convolution)",
    ("ps4", "conv_dilated_forward", "dilation_as_stride"): "the dilation moving the windows, the taps adjacent",
    ("ps4", "kmax_pool", "sorted_by_value"): "sorted by value instead of kept in order",
    ("ps4", "train_convnet", "summed"): "minibatch gradient summed instead of averaged",
    ("ps5", "rnn_backward", "cut"): "BPTT drops the gradient flowing into h_{t-1}",
    ("ps5", "clip_grad_norm", "per_array"): "each array clipped by its own norm",
    ("ps5", "clip_grad_norm", "scale_up"): "small gradients scaled up as well",
    ("ps5", "lstm_step_forward", "ifog"): "gates in i, f, o, g order",
    ("ps5", "lstm_step_forward", "no_tanh"): "tanh(c) omitted from the output",
    ("ps5", "lstm_forward", "ifog"): "gates in i, f, o, g order",
    ("ps5", "lstm_forward", "no_tanh"): "tanh(c) omitted from the output",
    ("ps5", "lstm_backward", "cut"): "BPTT drops the gradient flowing into h_{t-1}",
    ("ps5", "lstm_peephole_step_forward", "old_cell"): "the output gate reads the old cell state",
    ("ps5", "gru_step_forward", "reset_first"): "reset gate applied before the hidden matmul (the paper's form)",
    ("ps5", "gru_step_forward", "z_swapped"): "z and 1 - z swapped",
    ("ps5", "train_lstm_lm", "unclipped"): "no gradient clipping",
    ("ps6", "triplet_loss", "kink_active"): "a triplet exactly at the margin counted as violated",
    ("ps6", "triplet_loss", "squared"): "squared distances",
    ("ps6", "triplet_loss", "summed"): "summed over the triplets instead of averaged",
    ("ps6", "linear_ae_loss", "per_entry"): "averaged over every entry",
    ("ps6", "principal_angles", "degrees"): "in degrees",
    ("ps6", "principal_angles", "descending"): "largest first",
    ("ps6", "principal_angles", "unnormalised"): "the given bases not made orthonormal",
    ("ps6", "train_mlp_torch", "no_zero_grad"): "gradients never zeroed between steps",
}

# the same convention made another way, with no planted bug in samples/: the bug is written here
SOFTMAX_OLD = """    shifted = scores - np.max(scores, axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=1, keepdims=True)"""
SOFTMAX_NEW = SOFTMAX_OLD.replace("axis=1", "axis=0")
EXTRA = {
    ("ps2", "softmax", "over_columns"): ("softmax over columns, shifted per column", SOFTMAX_OLD, SOFTMAX_NEW),
}

ALL = {**PLANTED, **{key: bug[0] for key, bug in EXTRA.items()}}
FUNCTIONS = sorted({(ps, fn) for ps, fn, _ in ALL})


def explanation(ps: str, function: str, name: str) -> str:
    return next(m.explanation for m in get_problem_set(ps)[function].misconceptions if m.name == name)


def bug(ps: str, function: str, description: str) -> tuple[str, str]:
    """(old, new) of a planted bug, by its description."""
    for key, (desc, old, new) in EXTRA.items():
        if key[:2] == (ps, function) and desc == description:
            return old, new
    matches = [(old, new) for desc, old, new in samples.mutants(ps)[function] if desc == description]
    assert len(matches) == 1, f"{ps}.{function}: no single planted bug described {description!r}"
    return matches[0]


def expected_hint(ps: str, function: str, description: str) -> str | None:
    """The explanation a planted bug must get: its own misconception's, or none."""
    names = [name for (p, f, name), desc in ALL.items() if (p, f) == (ps, function) and desc == description]
    return explanation(ps, function, names[0]) if names else None


def hints(messages: list[str]) -> list[str]:
    return [m[len(HINT):] for m in messages if m.startswith(HINT)]


class Graded:
    """One grader per problem set, with a fresh seed; each submission graded once, for its function only."""

    def __init__(self, notebooks):
        self.notebooks, self.graders, self.results = notebooks, {}, {}

    def grader(self, ps: str) -> Grader:
        if ps not in self.graders:
            self.graders[ps] = Grader(get_problem_set(ps), fresh_seed())
        return self.graders[ps]

    def seed(self, ps: str) -> int:
        return self.grader(ps).seed

    def mutant(self, ps: str, function: str, description: str) -> list[str]:
        key = (ps, function, description)
        if key not in self.results:
            master, release = self.notebooks[ps]
            nb = samples.with_mutant(master, release, function, *bug(ps, function, description))
            result = self.grader(ps).grade(program_cells(master, nb), only=[function]).functions[function]
            assert not result.passed, f"{ps}.{function}: planted bug {description!r} passed (seed {self.seed(ps)})"
            self.results[key] = result.messages
        return self.results[key]

    def master(self, ps: str):
        if (ps, None) not in self.results:
            master, release = self.notebooks[ps]
            functions = sorted({fn for p, fn in FUNCTIONS if p == ps})
            self.results[(ps, None)] = self.grader(ps).grade(
                program_cells(master, samples.full_solution(master, release)), only=functions).functions
        return self.results[(ps, None)]

    def close(self):
        for grader in self.graders.values():
            grader.close()


@pytest.fixture(scope="module")
def graded(notebooks):
    state = Graded(notebooks)
    yield state
    state.close()


def test_every_misconception_has_a_bug_that_makes_it():
    registered = {(ps, fn.name, m.name) for ps in PROBLEM_SET_NAMES for fn in get_problem_set(ps).functions
                  for m in fn.misconceptions}
    assert registered == set(ALL), "every misconception needs the planted bug that shows it firing"
    assert all(sum(ps == name for ps, _, _ in registered) >= 2 for name in PROBLEM_SET_NAMES)
    for ps, function, name in registered:
        fn = get_problem_set(ps)[function]
        assert len({m.name for m in fn.misconceptions}) == len(fn.misconceptions), function
        bug(ps, function, ALL[(ps, function, name)])  # the planted bug exists and applies to the master


@pytest.mark.parametrize("key", sorted(ALL), ids=lambda k: "-".join(k))
def test_explanation_names_the_convention_only(key):
    text = explanation(*key)
    assert text and "\n" not in text and len(text) <= 120, text
    for leak in ("torch", "reference", "np.", "return", "def ", "==", "**", "[", "config"):
        assert leak not in text, f"{key}: {leak!r} in {text!r}"


@pytest.mark.parametrize("key", sorted(ALL), ids=lambda k: "-".join(k))
def test_planted_bug_gets_its_explanation(graded, key):
    ps, function, name = key
    messages = graded.mutant(ps, function, ALL[key])
    assert hints(messages) == [explanation(*key)], (f"{ps}.{function}: bug {ALL[key]!r} at seed "
                                                   f"{graded.seed(ps)}: {messages}")


@pytest.mark.parametrize("ps, function", FUNCTIONS, ids=lambda v: v)
def test_no_explanation_that_does_not_apply(graded, ps, function):
    """The master gets none; every other planted bug of the function gets none, or exactly its own."""
    seed = graded.seed(ps)
    master = graded.master(ps)[function]
    assert master.passed and not hints(master.messages), (seed, master.messages)
    descriptions = [d for d, _, _ in samples.mutants(ps)[function]]
    descriptions += [desc for key, (desc, _, _) in EXTRA.items() if key[:2] == (ps, function)]
    unrelated = 0
    for description in descriptions:
        want = expected_hint(ps, function, description)
        unrelated += want is None
        messages = graded.mutant(ps, function, description)
        assert hints(messages) == ([want] if want else []), (
            f"{ps}.{function}: bug {description!r} at seed {seed} got {hints(messages)}, expected {want!r}")
    assert unrelated, f"{ps}.{function} has no planted bug unrelated to its misconceptions"


@pytest.mark.parametrize("seed", [VISIBLE_SEED, 1, 2024, fresh_seed(), fresh_seed()],
                         ids=["visible", "1", "2024", "fresh", "another_fresh"])
@pytest.mark.parametrize("key", sorted(ALL), ids=lambda k: "-".join(k))
def test_variant_differs_from_the_reference(key, seed):
    """Otherwise a correct answer could be told it matches a known mistake."""
    ps, function, name = key
    fn = get_problem_set(ps)[function]
    misconception = next(m for m in fn.misconceptions if m.name == name)
    cases = fn.cases(seed)
    outputs = [run_variant(misconception, case) for case in cases]  # None where the variant raised
    undefined = [case.label for case, output in zip(cases, outputs) if output is None]
    # undefined where the wrong convention itself cannot run (one-sided padding leaves a kernel larger than the
    # input): there a student's code must fail too for the hint to be given; it must be defined elsewhere
    allowed = {"a kernel as large as the padded input (4 x 5, padding 1, kernel 6 x 7): a 1 x 1 output"}
    assert set(undefined) <= allowed, f"{ps}.{function}: variant {name} raises on {undefined} at seed {seed}"
    differ = [case.label for case, output in zip(cases, outputs)
              if compare_outputs(fn.returns, run_reference(fn, case), output, fn.rtol, fn.atol) is not None]
    assert differ, f"{ps}.{function}: variant {name} equals the reference on every case at seed {seed}"


def master_namespace(notebooks, ps: str) -> dict:
    """Every solution of the master, run in order: the other functions a driver may call (a forward)."""
    master, _ = notebooks[ps]
    namespace = {"np": np}
    for cell in program_cells(master, master):  # the provided cells (week 3's layers in ps4) and the solutions
        exec(compile(cell.source, f"<{ps} master {cell.id}>", "exec"), namespace)
    return namespace


def mutated_function(notebooks, ps: str, function: str, description: str):
    """(the function with the planted bug, the namespace it was defined in)."""
    master, _ = notebooks[ps]
    source = samples.mutate(samples.solution_sources(master)[function], *bug(ps, function, description))
    namespace = master_namespace(notebooks, ps)
    exec(compile(source, f"<{ps}.{function}: {description}>", "exec"), namespace)
    return namespace[function], namespace


@pytest.mark.parametrize("seed", [VISIBLE_SEED, fresh_seed()], ids=["visible", "fresh"])
@pytest.mark.parametrize("key", sorted(ALL), ids=lambda k: "-".join(k))
def test_visible_check_names_the_same_mistake(notebooks, key, seed):
    ps, function, name = key
    with pytest.raises(AssertionError) as failed:
        mutated, namespace = mutated_function(notebooks, ps, function, ALL[key])
        check(ps, function, mutated, seed=seed, namespace=namespace)
    assert hints(str(failed.value).split("\n")) == [explanation(*key)], (seed, str(failed.value))


@pytest.mark.parametrize("ps, function", FUNCTIONS, ids=lambda v: v)
def test_visible_check_of_the_master_names_no_mistake(notebooks, capsys, ps, function):
    namespace = master_namespace(notebooks, ps)
    check(ps, function, namespace[function], namespace=namespace)
    assert "passed" in capsys.readouterr().out
