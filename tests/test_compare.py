"""Comparison messages: shape before values, the largest error and where, never the reference."""
import numpy as np

from autograder.grading.compare import compare, compare_outputs
from autograder.grading.untrusted import decode_value
from autograder.sandbox.codec import encode


def test_shape_is_checked_before_values():
    message = compare("x", np.zeros((3, 4)), np.zeros((4, 3)), 1e-6, 1e-8)
    assert "expected shape (3, 4), got shape (4, 3)" in message


def test_largest_error_and_its_index_are_reported():
    expected = np.zeros((2, 3))
    got = expected.copy()
    got[1, 2] = 0.5
    got[0, 0] = 0.1
    message = compare("x", expected, got, 1e-6, 1e-8)
    assert "2 of 6" in message and "index (1, 2)" in message and "0.5" in message


def test_dtype_and_type_problems_are_named():
    assert "real numbers" in compare("x", np.zeros(2), np.array(["a", "b"]), 0, 0)
    assert "expected array" in compare("x", np.zeros(2), "nope", 0, 0)
    assert "expected 2 return values" in compare_outputs(("w", "b"), (np.zeros(2), 0.0), (np.zeros(2),), 0, 0)


def test_an_integer_result_must_be_an_integer():
    """A size or a count is an int: 5.0 is told apart from 5, and any integer type passes."""
    assert "expected an integer, got a float (5.0)" in compare("out", 5, 5.0, 1e-9, 0.0)
    assert "expected an integer" in compare("out", np.int64(5), np.float64(5.0), 1e-9, 0.0)
    for good in (5, np.int64(5), np.int32(5), np.uint8(5)):
        assert compare("out", 5, good, 1e-9, 0.0) is None, good
    assert compare("out", 5, 6, 1e-9, 0.0) is not None
    assert compare("out", 5.0, 5, 1e-9, 0.0) is None  # a float result may come back as an int


def test_infinities_must_match_and_nan_never_passes():
    assert compare("x", np.inf, np.inf, 0, 0) is None
    assert compare("x", np.inf, 1e308, 0, 0)
    assert compare("x", 1.0, np.nan, 1, 1)


def test_float32_within_tolerance_passes():
    expected = np.linspace(-3, 3, 7)
    assert compare("x", expected, expected.astype(np.float32), 1e-6, 1e-7) is None


def test_codec_round_trip_and_refusals():
    arrays = {}
    value = (np.arange(3.0), 2, 1.5, True, {"v": np.ones((2, 2))}, None, "polynomial")
    decoded = decode_value(encode(value, arrays, np), arrays)
    assert decoded[1:4] == (2, 1.5, True) and decoded[5:] == (None, "polynomial")
    np.testing.assert_array_equal(decoded[4]["v"], np.ones((2, 2)))

    class Sub(np.ndarray):
        pass

    arrays = {}
    spec = encode(np.zeros(3).view(Sub), arrays, np)
    assert type(arrays[spec["k"]]) is np.ndarray
    for bad in (np.array([object()]), object(), {1, 2}, print, np.array(["a", "b"])):
        try:
            encode(bad, {}, np)
        except TypeError:
            continue
        raise AssertionError(f"{bad!r} should be refused")


def test_a_trajectory_is_reported_at_its_first_departure():
    """For a sequence of steps the cause is upstream of the worst error: name the first step that departs."""
    expected = np.zeros((100, 3))
    got = expected.copy()
    got[5, 1] = 1e-6       # the first departure: small
    got[80, 2] = 10.0      # the worst, far downstream
    message = compare("trajectory", expected, got, 1e-10, 1e-10, sequence="step")
    assert "first departs at step 6 of 100" in message and "at index (1,) of that step" in message
    assert "2 in all 100 steps" in message
    assert "index (80, 2)" in compare("trajectory", expected, got, 1e-10, 1e-10)  # without: the worst
    got[3, 0] = np.nan
    assert "first departs at step 4 of 100" in compare("trajectory", expected, got, 1e-10, 1e-10, sequence="step")


def test_adam_with_eps_inside_the_root_is_reported_where_it_starts(notebooks):
    from autograder.authoring import samples
    from autograder.grading.grader import Grader
    from autograder.grading.notebooks import program_cells
    from autograder.registry import fresh_seed, get_problem_set

    master, release = notebooks["ps2"]
    old, new = next((o, n) for d, o, n in samples.mutants("ps2")["adam"] if "eps inside" in d)
    seed = fresh_seed()
    with Grader(get_problem_set("ps2"), seed) as grader:
        result = grader.grade(program_cells(master, samples.with_mutant(master, release, "adam", old, new)),
                              only=["adam"])
    departures = [m for m in result.functions["adam"].messages if "first departs at step" in m]
    assert departures, (seed, result.functions["adam"].messages)
    first_steps = [int(m.split("first departs at step ")[1].split()[0]) for m in departures]
    assert min(first_steps) <= 3, (seed, departures)  # eps matters from the first steps, not at step 25 or 88
