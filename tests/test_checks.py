"""Tests of segcore.checks, the shared parameter checks."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from segcore.checks import (
    as_mask,
    check_bool,
    check_choice,
    check_int,
    check_number,
    is_int,
    is_number,
)
from segcore.errors import InvalidParameterError

# --- is_int / is_number -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (0, True),
        (-7, True),
        (10**30, True),
        (np.int8(3), True),
        (np.uint64(3), True),
        (True, False),
        (np.True_, False),
        (2.0, False),
        (np.float64(2.0), False),
        ("2", False),
        (None, False),
        (Fraction(4, 2), False),
    ],
)
def test_is_int(value, expected):
    assert is_int(value) is expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (0, True),
        (-2.5, True),
        (np.float32(1.5), True),
        (np.int16(-4), True),
        (Fraction(1, 3), True),
        (1e308, True),
        (float("nan"), False),
        (float("inf"), False),
        (-math.inf, False),
        (np.float64("nan"), False),
        (10**400, False),  # too large for a float
        (True, False),
        (np.False_, False),
        ("0.5", False),
        (None, False),
        (1 + 2j, False),
    ],
)
def test_is_number(value, expected):
    assert is_number(value) is expected


# --- check_int ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [5, np.int64(5), np.uint8(5)])
def test_check_int_returns_a_python_int(value):
    result = check_int("n", value, minimum=1)
    assert result == 5 and type(result) is int


def test_check_int_bounds_are_inclusive():
    assert check_int("classes", 2, minimum=2, maximum=5) == 2
    assert check_int("classes", 5, minimum=2, maximum=5) == 5
    assert check_int("anything", -(10**30)) == -(10**30)


@pytest.mark.parametrize(
    "kwargs, value, message",
    [
        ({}, 2.0, "count must be an integer, got 2.0"),
        ({"minimum": 1}, 0, "count must be an integer >= 1, got 0"),
        ({"maximum": 9}, 10, "count must be an integer <= 9, got 10"),
        ({"minimum": 2, "maximum": 5}, 6, "count must be an integer from 2 to 5, got 6"),
        ({"minimum": 2, "maximum": 5}, 1, "count must be an integer from 2 to 5, got 1"),
        ({"minimum": 0}, True, "count must be an integer >= 0, got True"),
        ({"minimum": 0}, np.True_, "count must be an integer >= 0, got np.True_"),
        ({"minimum": 0}, "3", "count must be an integer >= 0, got '3'"),
        ({"minimum": 0}, None, "count must be an integer >= 0, got None"),
        ({"minimum": 1}, np.int64(0), "count must be an integer >= 1, got 0"),
    ],
)
def test_check_int_refusals_name_the_range_and_the_value(kwargs, value, message):
    with pytest.raises(InvalidParameterError, match=f"^{re.escape(message)}$"):
        check_int("count", value, **kwargs)


@settings(max_examples=50, deadline=None)
@given(st.integers(), st.integers(-100, 100), st.integers(-100, 100))
def test_check_int_accepts_exactly_the_integers_in_range(value, minimum, maximum):
    if minimum <= value <= maximum:
        assert check_int("n", value, minimum=minimum, maximum=maximum) == value
    else:
        with pytest.raises(InvalidParameterError, match=f"got {value}$"):
            check_int("n", value, minimum=minimum, maximum=maximum)


# --- check_number ------------------------------------------------------------------------


@pytest.mark.parametrize("value", [3, 3.0, np.float32(3.0), np.int32(3), Fraction(3)])
def test_check_number_returns_a_python_float(value):
    result = check_number("sigma", value, low=0)
    assert result == 3.0 and type(result) is float


def test_check_number_bounds_are_inclusive():
    assert check_number("noise", 0, low=0.0, high=1.0) == 0.0
    assert check_number("noise", 1, low=0.0, high=1.0) == 1.0
    assert check_number("offset", -1e300) == -1e300


@pytest.mark.parametrize(
    "kwargs, value, message",
    [
        ({}, float("inf"), "offset must be a finite number, got inf"),
        ({}, float("nan"), "offset must be a finite number, got nan"),
        ({}, None, "offset must be a finite number, got None"),
        ({"low": 0}, -1, "offset must be a number >= 0, got -1"),
        ({"low": 0}, float("nan"), "offset must be a number >= 0, got nan"),
        ({"high": 10}, 11.5, "offset must be a number <= 10, got 11.5"),
        ({"low": 0.0, "high": 1.0}, 1.5, "offset must be between 0.0 and 1.0, got 1.5"),
        ({"low": 0.0, "high": 1.0}, -math.inf, "offset must be between 0.0 and 1.0, got -inf"),
        ({"low": 0.0, "high": 1.0}, True, "offset must be between 0.0 and 1.0, got True"),
        ({"low": 0.0, "high": 1.0}, "0.5", "offset must be between 0.0 and 1.0, got '0.5'"),
        # NumPy scalars are shown as plain numbers, not as np.float64(1.5).
        ({"low": 0.0, "high": 1.0}, np.float64(1.5), "offset must be between 0.0 and 1.0, got 1.5"),
    ],
)
def test_check_number_refusals_name_the_range_and_the_value(kwargs, value, message):
    with pytest.raises(InvalidParameterError, match=f"^{re.escape(message)}$"):
        check_number("offset", value, **kwargs)


@settings(max_examples=50, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_check_number_accepts_exactly_finite_floats_in_range(value):
    if math.isfinite(value) and -5.0 <= value <= 5.0:
        assert check_number("x", value, low=-5.0, high=5.0) == value
    else:
        with pytest.raises(InvalidParameterError, match="x must be between -5.0 and 5.0"):
            check_number("x", value, low=-5.0, high=5.0)


# --- check_bool --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected", [(True, True), (False, False), (np.True_, True), (np.False_, False)]
)
def test_check_bool_returns_a_python_bool(value, expected):
    result = check_bool("fill", value)
    assert result is expected


@pytest.mark.parametrize("value, shown", [(1, "1"), (0, "0"), ("yes", "'yes'"), (None, "None")])
def test_check_bool_refuses_everything_else(value, shown):
    with pytest.raises(InvalidParameterError, match=f"^fill must be True or False, got {shown}$"):
        check_bool("fill", value)


# --- check_choice ------------------------------------------------------------------------

CHOICES = ("bright", "dark", "auto")


def test_check_choice_returns_the_value():
    assert check_choice("polarity", "dark", CHOICES) == "dark"
    assert check_choice("degradation", "blur", {"noise": {}, "blur": {}}) == "blur"


@pytest.mark.parametrize("value", ["light", "Dark", "", None, 1, ["dark"]])
def test_check_choice_lists_every_choice_in_order(value):
    message = f"unknown polarity {value!r}; choose one of: bright, dark, auto"
    with pytest.raises(InvalidParameterError, match=f"^{re.escape(message)}$"):
        check_choice("polarity", value, CHOICES)


# --- as_mask -----------------------------------------------------------------------------


def test_as_mask_returns_a_contiguous_bool_mask_without_copying():
    mask = np.array([[True, False], [False, True]])
    assert as_mask(mask) is mask


def test_as_mask_makes_strided_masks_contiguous():
    mask = np.eye(4, dtype=bool)[:, ::2]
    result = as_mask(mask)
    assert result.flags.c_contiguous and result.dtype == bool
    np.testing.assert_array_equal(result, mask)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int32, np.int64])
def test_as_mask_integer_non_zero_is_foreground(dtype):
    values = np.array([[0, 1, 0], [-1 if np.issubdtype(dtype, np.signedinteger) else 7, 0, 2]])
    result = as_mask(values.astype(dtype))
    assert result.dtype == bool
    np.testing.assert_array_equal(result, [[False, True, False], [True, False, True]])


@settings(max_examples=30, deadline=None)
@given(arrays(np.int16, st.tuples(st.integers(1, 6), st.integers(1, 6))))
def test_as_mask_matches_not_equal_zero(values):
    result = as_mask(values, shape=values.shape)
    assert result.dtype == bool and result.flags.c_contiguous
    np.testing.assert_array_equal(result, values != 0)


@pytest.mark.parametrize(
    "mask, shape, message",
    [
        ([[1, 0]], None, "mask must be a numpy array of shape (H, W), got list"),
        (np.zeros((2, 2, 3), bool), None, "mask must be 2-D (H, W), got an array of shape (2, 2, 3"),
        (np.zeros(4, np.uint8), None, "mask must be 2-D (H, W), got an array of shape (4,)"),
        (np.ones((5, 5), bool), (3, 4), "mask has shape (5, 5) but the image is 3 x 4: they must"),
        # With a shape to match, a 3-D mask is told the shape it needs.
        (np.zeros((3, 4, 3), bool), (3, 4), "mask has shape (3, 4, 3) but the image is 3 x 4"),
        (np.zeros((2, 2), np.float32), None, "got dtype float32; threshold a probability map"),
        (np.zeros((2, 2), object), None, "mask must hold bool or integer values (non-zero = "),
    ],
)
def test_as_mask_refusals_say_what_is_wrong(mask, shape, message):
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        as_mask(mask, shape=shape)


def test_as_mask_messages_use_the_given_name():
    with pytest.raises(InvalidParameterError, match=r"^truth must hold bool or integer values"):
        as_mask(np.zeros((2, 2)), name="truth")
    with pytest.raises(InvalidParameterError, match=r"^truth has shape \(2, 2\)"):
        as_mask(np.zeros((2, 2), bool), shape=(3, 3), name="truth")


def test_errors_are_value_errors():
    # Callers that catch ValueError (the app shows its message) catch these too.
    with pytest.raises(ValueError):
        check_int("n", "many")
