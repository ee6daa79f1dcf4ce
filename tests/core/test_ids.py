"""core.ids: the one parser of ids and cursors from clients. Property-based over Unicode text: it
accepts exactly the ASCII digit strings (and ints) within bigint, and raises nothing but its own 400."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from labelhub.core.exceptions import NotFound
from labelhub.core.ids import ID_MAX, InvalidId, id_or_404, is_id, parse_cursor, parse_id


def _expected(text: str) -> int | None:
    """The reference: ASCII digits only, within bigint (and short enough to write that)."""
    if text and len(text) <= 19 and all(c in "0123456789" for c in text) and int(text) <= ID_MAX:
        return int(text)
    return None


@settings(deadline=None)  # a shared machine: no per-example time limit
@given(st.text())
@example("²")
@example("①")
@example("١٢")  # Arabic-Indic: int() takes it
@example(" 12 ")
@example("1_000")
@example("1e5")
@example("-1")
@example("+1")
@example("12\n")
@example("0" * 19)
@example(str(ID_MAX))
@example(str(ID_MAX + 1))
@example("9" * 5000)  # beyond Python's int() digit limit: a ValueError of its own
def test_parse_id_accepts_exactly_ascii_digits_in_range(text):
    expected = _expected(text)
    if expected is None:
        with pytest.raises(InvalidId) as caught:
            parse_id(text, field="labeler")
        assert caught.value.status_code == 400
        assert caught.value.extra == {"fields": {"labeler": ["An id: ASCII digits 0-9."]}}
        assert not is_id(text)
    else:
        assert parse_id(text) == expected
        assert is_id(text)


@settings(deadline=None)  # a shared machine: no per-example time limit
@given(st.one_of(st.integers(), st.booleans(), st.floats(), st.none(), st.lists(st.integers()), st.binary()))
def test_parse_id_takes_ints_in_range_and_nothing_else(value):
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= ID_MAX:
        assert parse_id(value) == value
    else:
        with pytest.raises(InvalidId):
            parse_id(value)


@settings(deadline=None)  # a shared machine: no per-example time limit
@given(st.text())
def test_id_or_404_raises_only_not_found(text):
    expected = _expected(text)
    if expected is None:
        with pytest.raises(NotFound, match=r"^Prompt not found\.$"):
            id_or_404(text, label="Prompt")
    else:
        assert id_or_404(text, label="Prompt") == expected


@settings(deadline=None)  # a shared machine: no per-example time limit
@given(st.text(min_size=1))
def test_parse_cursor_raises_only_not_found(text):
    expected = _expected(text)
    if expected is None:
        with pytest.raises(NotFound, match=r"^No such page\.$"):
            parse_cursor(text)
    else:
        assert parse_cursor(text) == expected


def test_parse_cursor_first_page():
    assert parse_cursor(None) is None and parse_cursor("") is None
