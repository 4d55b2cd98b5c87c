"""Argument checks that name the offending argument and the allowed values."""
from typing import Sequence, Tuple, Union


def check_fraction(name: str, value: float) -> None:
    """Raise ``ValueError`` unless ``0 < value <= 1``.

    Args:
        name: Argument name used in the message.
        value: Value to check.
    """
    if not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f'{name} must be a number in (0, 1], got {value!r}')


def check_choice(name: str, value: object, allowed: Sequence[object]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``.

    Args:
        name: Argument name used in the message.
        value: Value to check.
        allowed: Accepted values.
    """
    if value not in allowed:
        raise ValueError(f'{name} must be one of {tuple(allowed)}, '
                         f'got {value!r}')


def check_positive_int(name: str, value: object) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer >= 1.

    Args:
        name: Argument name used in the message.
        value: Value to check.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{name} must be an integer >= 1, got {value!r}')


def check_pair(name: str, value: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """Return ``value`` as a ``(height, width)`` pair of integers >= 1.

    Args:
        name: Argument name used in the message.
        value: An int (used for both) or a sequence of two ints.

    Returns:
        The pair.
    """
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f'{name} must be an int or (height, width), '
                         f'got {value!r}')
    for item in pair:
        check_positive_int(name, item)
    return pair
