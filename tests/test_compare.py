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
