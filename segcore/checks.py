"""Checks of user-given parameter values, shared by the segcore methods.

Each ``check_*`` function returns the value normalised (a Python ``int``,
``float``, ``bool`` or ``str``), and :func:`as_mask` a bool array, or raises
:class:`~segcore.errors.InvalidParameterError` with a message that names the
parameter, says what is allowed and shows the value given. The ``is_*``
predicates are for checks specific to one module that word their own
message (an odd block size, a tolerance that may be ``"auto"``).

Booleans are never accepted as numbers: ``True`` is an ``int`` to Python, but
a user who writes ``n_clusters=True`` has made a mistake.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import Any

import numpy as np

from .errors import InvalidParameterError


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or NumPy), not a bool.

    Parameters
    ----------
    value : object
        Anything.

    Returns
    -------
    bool
        True for ``int`` and NumPy integer scalars; False for bools, floats
        (even ``2.0``), strings and everything else.

    Examples
    --------
    >>> is_int(3), is_int(np.uint8(3)), is_int(3.0), is_int(True)
    (True, True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite real number (int or float), not a bool.

    Parameters
    ----------
    value : object
        Anything.

    Returns
    -------
    bool
        True for Python and NumPy integers and floats that are finite (and,
        for huge integers, fit in a float); False for NaN, infinities, bools,
        strings such as ``"3"``, None and everything else.

    Examples
    --------
    >>> is_number(2), is_number(0.5), is_number(np.float32(1.5))
    (True, True, True)
    >>> is_number(float("nan")), is_number(float("inf")), is_number(False), is_number("3")
    (False, False, False, False)
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
    """``value`` as a Python int, after checking it is an integer in range.

    Parameters
    ----------
    name : str
        The parameter's name, as the user wrote it, for the message.
    value : object
        The value given.
    minimum, maximum : int or None, optional
        Inclusive bounds; None leaves that side open.

    Returns
    -------
    int

    Raises
    ------
    InvalidParameterError
        If ``value`` is not an integer (floats such as ``2.0`` and bools are
        refused) or lies outside ``[minimum, maximum]``.

    Examples
    --------
    >>> check_int("n_clusters", np.int64(3), minimum=1)
    3
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
    """``value`` as a Python float, after checking it is a finite number in range.

    Parameters
    ----------
    name : str
        The parameter's name, as the user wrote it, for the message.
    value : object
        The value given.
    low, high : float, optional
        Inclusive bounds; the default infinities leave that side open.

    Returns
    -------
    float

    Raises
    ------
    InvalidParameterError
        If ``value`` is not a real number (bools and numeric strings such as
        ``"0.5"`` are refused), is NaN or infinite, or lies outside
        ``[low, high]``.

    Notes
    -----
    The bounds are shown as given, so pass ``0.0`` for the message to say
    ``0.0`` and ``0`` for it to say ``0``.

    Examples
    --------
    >>> check_number("sigma", 2)
    2.0
    >>> check_number("sigma", -1, low=0)
    Traceback (most recent call last):
        ...
    segcore.errors.InvalidParameterError: sigma must be a number >= 0, got -1
    >>> check_number("noise", 1.5, low=0.0, high=1.0)
    Traceback (most recent call last):
        ...
    segcore.errors.InvalidParameterError: noise must be between 0.0 and 1.0, got 1.5
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
    """``value`` as a Python bool, after checking it is ``True`` or ``False``.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : object
        The value given; a NumPy bool is accepted, ``0``, ``1`` and strings
        such as ``"yes"`` are not.

    Returns
    -------
    bool

    Raises
    ------
    InvalidParameterError
        If ``value`` is not a bool.

    Examples
    --------
    >>> check_bool("fill", np.True_)
    True
    >>> check_bool("fill", "yes")
    Traceback (most recent call last):
        ...
    segcore.errors.InvalidParameterError: fill must be True or False, got 'yes'
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
    """``value``, after checking it is one of the allowed strings.

    Parameters
    ----------
    name : str
        What the value names (``"algorithm"``, ``"polarity"``), for the message.
    value : object
        The value given; it must be a ``str`` equal to one of ``choices``.
    choices : collection of str
        The allowed values (a tuple, or the keys of a dict), in the order the
        message lists them.

    Returns
    -------
    str

    Raises
    ------
    InvalidParameterError
        If ``value`` is not one of ``choices``; the message lists them all.

    Examples
    --------
    >>> check_choice("criterion", "seed", ("neighbor", "seed"))
    'seed'
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
    """A foreground mask as a C-contiguous 2-D bool array.

    Parameters
    ----------
    mask : ndarray of bool or integer, shape (H, W)
        Every non-zero pixel is foreground, whatever its sign.
    shape : (int, int), optional
        The (H, W) of the image the mask belongs to; if given, the mask must
        have exactly this shape.
    name : str, optional
        What to call the mask in messages.

    Returns
    -------
    ndarray of bool, shape (H, W)
        ``mask`` itself for a C-contiguous bool mask (no copy: do not write
        to it), otherwise a new array.

    Raises
    ------
    InvalidParameterError
        If ``mask`` is not a NumPy array, is not 2-D, does not have
        ``shape``, or holds floats (a probability map must be thresholded
        first) or anything else that is not bool or integer.

    Examples
    --------
    >>> as_mask(np.array([[0, 3], [-1, 0]]))
    array([[False,  True],
           [ True, False]])
    >>> as_mask(np.zeros((2, 2), dtype=bool), shape=(2, 3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    segcore.errors.InvalidParameterError: mask has shape (2, 2) but the image is 2 x 3: ...
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
