"""Sizes and durations as people write them, and as Compose and the reports print them."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lares.units import (
    MAX_SIZE,
    compose_duration,
    compose_size,
    format_duration,
    format_size,
    parse_duration,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (1024, 1024),
        (0, 0),
        (1.9, 1),
        ("512", 512),
        ("512b", 512),
        ("1k", 1024),
        ("1kB", 1000),
        ("1KiB", 1024),
        ("512m", 512 * 1024**2),
        ("512MB", 512 * 1000**2),
        ("512MiB", 512 * 1024**2),
        ("2g", 2 * 1024**3),
        ("2GB", 2 * 10**9),
        ("2GiB", 2 * 1024**3),
        ("32GiB", 32 * 1024**3),
        ("12TB", 12 * 10**12),
        ("1.5TiB", int(1.5 * 1024**4)),
        ("1t", 1024**4),
        ("2PB", 2 * 10**15),
        ("1PiB", 1024**5),
        (" 4 GiB ", 4 * 1024**3),
    ],
)
def test_parse_size(text: object, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "expected a size such as 512MiB or 12TB, not a boolean"),
        (-1, "a size cannot be negative"),
        (-1.5, "a size is a finite number of bytes, not negative"),
        (math.inf, "a size is a finite number of bytes, not negative"),
        (math.nan, "a size is a finite number of bytes, not negative"),
        (1e19, "1e+19 is too large to be a size"),
        (2**63, f"{2**63} is too large to be a size"),
        ([1], "expected a size such as 512MiB or 12TB"),
        (None, "expected a size such as 512MiB or 12TB"),
        (
            "12 terabytes",
            "'12 terabytes' is not a size; write a number and a unit such as 512MiB, 2GiB or 12TB",
        ),
        ("", "'' is not a size; write a number and a unit such as 512MiB, 2GiB or 12TB"),
        ("-5GB", "'-5GB' is not a size; write a number and a unit such as 512MiB, 2GiB or 12TB"),
        ("1e3GB", "'1e3GB' is not a size; write a number and a unit such as 512MiB, 2GiB or 12TB"),
        ("9" * 400 + "TB", f"'{'9' * 400}TB' is too large to be a size"),
        ("10000000PB", "'10000000PB' is too large to be a size"),
    ],
)
def test_parse_size_refuses(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_size(value)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (90, 90.0),
        (1.5, 1.5),
        ("500ms", 0.5),
        ("30s", 30.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1w", 604800.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        ("1.5h", 5400.0),
    ],
)
def test_parse_duration(text: object, expected: float) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (False, "expected a duration such as 30s, 5m or 2h, not a boolean"),
        (-1, "a duration cannot be negative"),
        (math.inf, "a duration is a finite number of seconds"),
        (10**400, "a duration is a finite number of seconds"),
        (None, "expected a duration such as 30s, 5m or 2h"),
        ("soon", "'soon' is not a duration; write it as 30s, 5m, 2h, 1d or 1h30m"),
        ("", "'' is not a duration; write it as 30s, 5m, 2h, 1d or 1h30m"),
        ("5", "'5' is not a duration; write it as 30s, 5m, 2h, 1d or 1h30m"),
        ("5x", "'5x' is not a duration; write it as 30s, 5m, 2h, 1d or 1h30m"),
        ("9" * 400 + "s", f"'{'9' * 400}s' is too long to be a duration"),
    ],
)
def test_parse_duration_refuses(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("n", "binary", "expected"),
    [
        (0, True, "0 B"),
        (1023, True, "1023 B"),
        (1024, True, "1.0 KiB"),
        (32 * 1024**3, True, "32.0 GiB"),
        (36 * 10**12, True, "32.7 TiB"),
        (36 * 10**12, False, "36.0 TB"),
        (52 * 10**12, False, "52.0 TB"),
        (34359738368, False, "34.4 GB"),
        (1024**6, True, "1024.0 PiB"),
    ],
)
def test_format_size(n: int, binary: bool, expected: str) -> None:
    assert format_size(n, binary=binary) == expected


def test_format_size_precision() -> None:
    assert format_size(12 * 10**12, binary=False, precision=0) == "12 TB"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0s"), (-5, "0s"), (59, "59s"), (90, "1m30s"), (7200, "2h"), (90061, "1d1h1m1s")],
)
def test_format_duration(seconds: float, expected: str) -> None:
    assert format_duration(seconds) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [(2 * 1024**3, "2g"), (512 * 1024**2, "512m"), (1536 * 1024**2, "1536m"), (1000, "1000")],
)
def test_compose_size(n: int, expected: str) -> None:
    assert compose_size(n) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"), [(0.5, "500ms"), (30, "30s"), (90, "1m30s"), (3600, "1h")]
)
def test_compose_duration(seconds: float, expected: str) -> None:
    assert compose_duration(seconds) == expected


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=MAX_SIZE))
def test_compose_size_round_trips(n: int) -> None:
    assert parse_size(compose_size(n)) == n


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=10**7))
def test_format_duration_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(max_size=30), st.floats(), st.integers(), st.booleans(), st.none()))
def test_parsers_only_raise_value_error(value: object) -> None:
    # a value either parses to a finite, non-negative number or is refused with a ValueError
    for parse in (parse_size, parse_duration):
        try:
            result = parse(value)
        except ValueError as exc:
            assert str(exc)
        else:
            assert math.isfinite(result) and result >= 0
