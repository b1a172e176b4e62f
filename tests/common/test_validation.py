import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quartet.common.validation import (check_choice, check_float, check_int, check_positive,
                                       check_power_of_two)


@given(st.integers(min_value=-1000, max_value=1000), st.integers(0, 50), st.integers(0, 50))
def test_check_int_accepts_exactly_the_range(value, lo_off, hi_off):
    lo, hi = value - lo_off, value + hi_off
    assert check_int("n", value, min=lo, max=hi) == value
    with pytest.raises(ValueError, match=r"^invalid n="):
        check_int("n", value, min=value + 1)
    with pytest.raises(ValueError, match=r"must be an integer <= "):
        check_int("n", value, max=value - 1)


@pytest.mark.parametrize("bad", [True, 1.5, "3", None, [1]])
def test_check_int_rejects_non_integers_with_one_line(bad):
    with pytest.raises(ValueError) as info:
        check_int("layers", bad, min=1)
    message = str(info.value)
    assert "\n" not in message and message.startswith("invalid layers=") and "integer" in message


def test_check_float_bounds_and_non_finite():
    assert check_float("lr", 0.5, min=0, max=1) == 0.5
    with pytest.raises(ValueError, match="> 0"):
        check_float("lr", 0.0, min=0, min_inclusive=False)
    for bad in (math.nan, math.inf, "x"):
        with pytest.raises(ValueError, match="finite"):
            check_float("lr", bad)
    assert check_positive("eps", 1e-9) == 1e-9
    with pytest.raises(ValueError, match="invalid eps=-1"):
        check_positive("eps", -1)


@given(st.integers(0, 40))
def test_powers_of_two(exp):
    assert check_power_of_two("m", 2**exp) == 2**exp
    if exp >= 2:
        with pytest.raises(ValueError, match="power of two"):
            check_power_of_two("m", 2**exp - 1)


def test_check_choice_lists_allowed_values():
    assert check_choice("cot", "none", ["none", "paper"]) == "none"
    with pytest.raises(ValueError, match=r"invalid cot='x': must be one of 'none', 'paper'"):
        check_choice("cot", "x", ["none", "paper"])
