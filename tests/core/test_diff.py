"""core.diff: a valid line diff of any two texts, in work linear in their size (difflib took 17 s for
two 6,000-line versions of short repeating lines), coarse and saying so past its budget."""

import difflib
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelhub.core import diff as core_diff
from labelhub.core.diff import diff_lines, side_by_side_rows, unified_lines, unified_text


def _assert_valid(diff, old, new):
    """The opcodes cover both sides in order, equal runs are equal, and the counts add up."""
    a, b = old.splitlines(), new.splitlines()
    i = j = 0
    for tag, i1, i2, j1, j2 in diff.opcodes:
        assert (i1, j1) == (i, j)
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
        else:
            assert tag == ("replace" if i2 > i1 and j2 > j1 else "delete" if i2 > i1 else "insert")
        i, j = i2, j2
    assert (i, j) == (len(a), len(b))
    assert diff.removed == sum(i2 - i1 for t, i1, i2, _, _ in diff.opcodes if t != "equal")
    assert diff.added == sum(j2 - j1 for t, _, _, j1, j2 in diff.opcodes if t != "equal")


lines = st.lists(st.sampled_from(["a", "b", "c", "", "# Title", "x y", "ü"]), max_size=60).map("\n".join)


@settings(deadline=None)  # a shared machine: no per-example time limit
@given(lines, lines)
def test_any_two_texts_give_a_valid_diff(old, new):
    diff = diff_lines(old, new)
    _assert_valid(diff, old, new)
    assert not diff.coarse  # small texts are always aligned line by line
    # Applying the unified diff's - and + lines gives the texts back.
    unified, cut = unified_lines(diff, old_label="a", new_label="b", context=10**6)
    assert not cut
    body = [line for line in unified[2:] if not line.startswith("@@")]
    if old != new and old.splitlines() != new.splitlines():
        assert [line[1:] for line in body if line[0] in " -"] == old.splitlines()
        assert [line[1:] for line in body if line[0] in " +"] == new.splitlines()


def _lcs_length(a: list, b: list) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
    return table[0][0]


short = st.lists(st.sampled_from("abc"), max_size=25)


@settings(deadline=None)  # a shared machine: no per-example time limit
@given(short, short)
def test_myers_keeps_a_longest_common_subsequence(a, b):
    """Regions of repeated lines (no unique anchor) go to Myers: its edit script is a shortest one.
    (Patience anchoring around it is not always optimal, like difflib; it is valid and linear.)"""
    ids: dict[str, int] = {}
    aligner = core_diff._Aligner([ids.setdefault(x, len(ids)) for x in a], [ids.setdefault(x, len(ids)) for x in b])
    pieces = aligner._myers(0, len(a), 0, len(b))
    i = j = 0
    for kind, i1, i2, j1, j2 in pieces:
        assert (i1, j1) == (i, j) and (kind != "equal" or a[i1:i2] == b[j1:j2])
        i, j = i2, j2
    assert (i, j) == (len(a), len(b))
    assert sum(i2 - i1 for kind, i1, i2, _, _ in pieces if kind == "equal") == _lcs_length(a, b)


def test_unified_matches_difflib_on_a_plain_edit():
    old = "# Title\nkeep\nold line\nmore\n" + "\n".join(f"line {n}" for n in range(20))
    new = "# Title\nkeep\nnew line\nmore\n" + "\n".join(f"line {n}" for n in range(20) if n != 12)
    expected = list(difflib.unified_diff(old.splitlines(), new.splitlines(), "v1", "v2", lineterm=""))
    assert unified_lines(diff_lines(old, new), old_label="v1", new_label="v2")[0] == expected
    assert unified_text(old, new, old_label="v1", new_label="v2") == "\n".join(expected)


def _repeating(count: int) -> tuple[str, str]:
    """The issue's case: short repeating lines, a few edits spread over them."""
    old = [("alpha", "beta", "gamma")[n % 3] for n in range(count)]
    new = list(old)
    for at in (count // 5, count // 2, 4 * count // 5):
        new[at] = "changed"
    del new[count // 3]
    return "\n".join(old), "\n".join(new)


def _random_text(rng, size: int) -> str:
    words = ["the", "model", "answer", "must", "be", "helpful", "and", "safe", "-", "1."]
    out, length = [], 0
    while length < size:
        line = " ".join(rng.choices(words, k=rng.randint(1, 12)))
        out.append(line)
        length += len(line) + 1
    return "\n".join(out)[:size]


def _worst_cases(scale: int) -> dict[str, tuple[str, str]]:
    rng = random.Random(scale)
    old = _random_text(rng, 20_000 * scale)
    near = old.splitlines()
    for _ in range(30 * scale):
        near[rng.randrange(len(near))] = "edited"
    return {
        "repeating": _repeating(600 * scale),
        "random": (old, _random_text(rng, 20_000 * scale)),
        "near-identical": (old, "\n".join(near)),
        "short random lines": (
            "\n".join(rng.choices("abc", k=10_000 * scale)),
            "\n".join(rng.choices("abc", k=10_000 * scale)),
        ),
        "one long line": ("x" * 20_000 * scale, "x" * 10_000 * scale + "y" + "x" * (10_000 * scale - 1)),
    }


def test_the_repeating_case_from_the_issue_is_exact_and_cheap():
    old, new = _repeating(6_000)
    diff = diff_lines(old, new)
    _assert_valid(diff, old, new)
    assert not diff.coarse and (diff.added, diff.removed) == (3, 4)
    assert diff.work < 5 * 12_000


@pytest.mark.parametrize("case", list(_worst_cases(1)))
def test_work_grows_linearly_not_quadratically(case):
    """Ten times the input costs at most ~ten times the work (plus the fixed base): quadratic growth
    would be a hundred times. Counted in steps, not timed."""
    small_old, small_new = _worst_cases(1)[case]
    big_old, big_new = _worst_cases(10)[case]
    small, big = diff_lines(small_old, small_new), diff_lines(big_old, big_new)
    _assert_valid(big, big_old, big_new)
    lines = len(big.a) + len(big.b)
    assert big.work <= core_diff.WORK_BASE + core_diff.WORK_PER_LINE * lines + lines  # budget + one last scan
    assert big.work <= 12 * small.work + core_diff.WORK_BASE


def test_past_its_budget_the_diff_is_coarse_and_still_valid():
    rng = random.Random(7)
    old, new = "\n".join(rng.choices("abc", k=100_000)), "\n".join(rng.choices("abc", k=100_000))
    started = time.perf_counter()
    diff = diff_lines(old, new)
    elapsed = time.perf_counter() - started
    _assert_valid(diff, old, new)
    assert diff.coarse
    assert elapsed < 5  # generous on a shared machine; bench/bench_diff.py measures it (~0.2 s)


def test_rows_are_capped_and_unchanged_runs_skipped():
    old = "\n".join(f"line {n}" for n in range(10_000))
    new = "\n".join(f"line {n}" if n % 2 else f"line {n}!" for n in range(10_000))
    diff = diff_lines(old, new)
    unified, cut = unified_lines(diff, old_label="a", new_label="b", max_rows=100)
    rows, cut_rows = side_by_side_rows(diff, max_rows=100)
    assert cut and cut_rows and len(unified) == len(rows) == 100
    assert (diff.added, diff.removed) == (5_000, 5_000)  # counts cover the whole diff
    one = diff_lines(old, old.replace("line 5000", "line five thousand"))
    kinds = [row.kind for row in side_by_side_rows(one)[0]]
    assert kinds == ["skip", "equal", "equal", "equal", "replace", "equal", "equal", "equal", "skip"]
    assert side_by_side_rows(one)[0][0].left == "4,997 unchanged lines"
