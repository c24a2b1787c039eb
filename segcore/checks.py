"""Checks of user-given parameter values, shared by the segcore methods.

Each ``check_*`` returns the value normalised (a Python ``int``, ``float``, ``bool`` or
``str``; :func:`as_mask` a bool array) or raises
:class:`~segcore.errors.InvalidParameterError` with a message that names the parameter, says
what is allowed and shows the value given. Bools are never numbers here (``n_clusters=True`` is
a mistake), nor are floats integers (``2.0``). The ``is_*`` predicates serve checks that word
their own message (an odd block size, a tolerance that may be ``"auto"``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import Any

import numpy as np

from .errors import InvalidParameterError


def is_int(value: Any) -> bool:
    """Whether ``value`` is a Python or NumPy integer (not a bool, not ``2.0``).

    >>> is_int(3), is_int(np.uint8(3)), is_int(3.0), is_int(True)
    (True, True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite int or float (not a bool, NaN, infinity or ``"3"``).

    >>> is_number(np.float32(1.5)), is_number(float("nan")), is_number(False), is_number("3")
    (True, False, False, False)
    """
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """``value`` as an int in ``[minimum, maximum]`` (None: open side).

    >>> check_int("classes", 7, minimum=2, maximum=5)
    Traceback (most recent call last):
        ...
    segcore.errors.InvalidParameterError: classes must be an integer from 2 to 5, got 7
    """
    in_range = (
        is_int(value)
        and (minimum is None or value >= minimum)
        and (maximum is None or value <= maximum)
    )
    if not in_range:
        if minimum is not None and maximum is not None:
            allowed = f"an integer from {minimum} to {maximum}"
        elif minimum is not None:
            allowed = f"an integer >= {minimum}"
        elif maximum is not None:
            allowed = f"an integer <= {maximum}"
        else:
            allowed = "an integer"
        raise InvalidParameterError(f"{name} must be {allowed}, got {_shown(value)}")
    return int(value)


def check_number(name: str, value: Any, *, low: float = -math.inf, high: float = math.inf) -> float:
    """``value`` as a finite float in ``[low, high]``.

    >>> check_number("sigma", -1, low=0)
    Traceback (most recent call last):
        ...
    segcore.errors.InvalidParameterError: sigma must be a number >= 0, got -1
    """
    if not (is_number(value) and low <= value <= high):
        if math.isinf(low) and math.isinf(high):
            allowed = "a finite number"
        elif math.isinf(high):
            allowed = f"a number >= {low}"
        elif math.isinf(low):
            allowed = f"a number <= {high}"
        else:
            allowed = f"between {low} and {high}"
        raise InvalidParameterError(f"{name} must be {allowed}, got {_shown(value)}")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool (Python or NumPy; not ``"yes"`` or 1).

    >>> check_bool("fill", np.True_)
    True
    """
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be True or False, got {_shown(value)}")
    return bool(value)


def check_connectivity(value: Any) -> int:
    """``value`` as an int, after checking it is 4 (pixels sharing a side) or 8 (or a corner).

    >>> check_connectivity(8)
    8
    """
    if not is_int(value) or value not in (4, 8):
        raise InvalidParameterError(f"connectivity must be 4 or 8, got {_shown(value)}")
    return int(value)


def check_choice(name: str, value: Any, choices: Collection[str]) -> str:
    """``value``, one of the strings ``choices`` (listed in the message, in their order).

    >>> check_choice("criterion", "median", ("neighbor", "seed"))
    Traceback (most recent call last):
        ...
    segcore.errors.InvalidParameterError: unknown criterion 'median'; choose one of: neighbor, seed
    """
    if not isinstance(value, str) or value not in choices:
        raise InvalidParameterError(
            f"unknown {name} {value!r}; choose one of: {', '.join(choices)}"
        )
    return value


def as_mask(mask: Any, *, shape: tuple[int, int] | None = None, name: str = "mask") -> np.ndarray:
    """A C-contiguous 2-D bool mask: non-zero is foreground; ``shape`` is the image's (H, W), if given.

    A C-contiguous bool mask is returned as is (do not write to it). Floats are refused: a
    probability map must be thresholded first.

    >>> as_mask(np.array([[0, 3], [-1, 0]]))
    array([[False,  True],
           [ True, False]])
    """
    if not isinstance(mask, np.ndarray):
        raise InvalidParameterError(
            f"{name} must be a numpy array of shape (H, W), got {type(mask).__name__}"
        )
    # With a shape to match, saying which one is more useful than "not 2-D".
    if shape is not None and mask.shape != tuple(shape):
        raise InvalidParameterError(
            f"{name} has shape {mask.shape} but the image is {shape[0]} x {shape[1]}: "
            "they must match"
        )
    if mask.ndim != 2:
        raise InvalidParameterError(
            f"{name} must be 2-D (H, W), got an array of shape {mask.shape}"
        )
    if mask.dtype == bool:
        return np.ascontiguousarray(mask)
    if np.issubdtype(mask.dtype, np.integer):
        return mask != 0
    raise InvalidParameterError(
        f"{name} must hold bool or integer values (non-zero = foreground), got dtype {mask.dtype}; "
        "threshold a probability map first, e.g. probabilities > 0.5"
    )


def _shown(value: Any) -> str:
    """``value`` for a message: numbers plainly (``1.5``, not ``np.float64(1.5)``), others' repr."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return str(value)
    return repr(value)


__all__ = [
    "as_mask", "check_bool", "check_choice", "check_int", "check_number", "is_int", "is_number",
]
