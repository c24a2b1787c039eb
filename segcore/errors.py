"""Exceptions raised by segcore.

Every problem with user input (a file that is not an image, a mask of the
wrong size, an array of the wrong shape, an unknown method or parameter)
raises a subclass of :class:`ValueError`, so callers can catch one thing and
show its message to a person.
"""

from __future__ import annotations


class SegcoreError(ValueError):
    """Base class of every input error segcore raises on purpose."""


class InvalidImageError(SegcoreError):
    """The image (file, bytes or array) cannot be used.

    The message is written for a person, e.g. ``"this file is not an image we
    can read: it is empty (0 bytes)"``.
    """


class InvalidMaskError(InvalidImageError):
    """The ground-truth mask cannot be used (unreadable, wrong size, not a mask)."""


class UnknownMethodError(SegcoreError, KeyError):
    """A method name that is not in the registry; the message lists valid names."""

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0]) if self.args else ""


class InvalidParameterError(SegcoreError):
    """A parameter a method does not accept, or a value outside its range."""
