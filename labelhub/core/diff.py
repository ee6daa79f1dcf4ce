"""Line diffs of untrusted texts in bounded time (pure; strings in, strings out, no HTML).

difflib's SequenceMatcher is quadratic on repetitive text (6,000 short repeating lines took 17 s).
Here lines become integers in one dict pass, the common head and tail are cut off, and lines that
occur exactly once on each side anchor the alignment (patience diff: longest increasing subsequence,
n log n); the regions between anchors are diffed the same way. A region with no such anchor (text
made of repeated lines) gets a shortest edit script by Myers' O((N+M)·D) algorithm. Every step is
counted, and once the count passes a budget (WORK_BASE + WORK_PER_LINE per line) each region left
is shown replaced as a whole: the diff is then *coarse* and says so. Output is capped at `max_rows`
rows (the added and removed counts always cover the whole diff): a page stays small whatever the
versions hold.
"""

from bisect import bisect_left
from dataclasses import dataclass

CONTEXT = 3
MAX_ROWS = 2_000  # rows a page shows (unified lines or side-by-side rows)
# The work budget, in lines scanned (a Myers step counts MYERS_STEP: it costs that much more): past
# it the diff turns coarse. ~1 µs per unit of work here, so the worst case stays well under a second.
WORK_BASE = 100_000
WORK_PER_LINE = 2
MYERS_STEP = 3

Opcode = tuple[str, int, int, int, int]  # difflib's (tag, i1, i2, j1, j2)


@dataclass(frozen=True)
class LineDiff:
    a: list[str]
    b: list[str]
    opcodes: list[Opcode]  # equal / replace / delete / insert, covering both sides in order
    added: int
    removed: int
    coarse: bool  # some region with common lines was shown replaced whole (budget or size)
    work: int  # steps taken: within the budget (plus one region scan), pinned by tests


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff. `kind` is equal / insert / delete / replace, or skip (a run of
    unchanged lines left out: `left` says how many)."""

    kind: str
    left_no: int | None
    left: str
    right_no: int | None
    right: str


class _Aligner:
    def __init__(self, a: list[int], b: list[int]):
        self.a, self.b = a, b
        self.work, self.coarse = 0, False
        self.budget = WORK_BASE + WORK_PER_LINE * (len(a) + len(b))
        self.ops: list[Opcode] = []

    def run(self) -> list[Opcode]:
        # An explicit stack (regions nest arbitrarily deep) of ("region" | "equal" | "change", alo,
        # ahi, blo, bhi), the next piece last.
        stack: list[tuple] = [("region", 0, len(self.a), 0, len(self.b))]
        while stack:
            kind, alo, ahi, blo, bhi = stack.pop()
            if kind == "region":
                stack.extend(reversed(self._region(alo, ahi, blo, bhi)))
            elif ahi > alo or bhi > blo:
                self._emit(kind, alo, ahi, blo, bhi)
        return self.ops

    def _emit(self, kind, alo, ahi, blo, bhi) -> None:
        tag = "equal" if kind == "equal" else _change_tag(ahi - alo, bhi - blo)
        last = self.ops[-1] if self.ops else None
        if last and (last[0] == "equal") == (tag == "equal"):  # merge neighbours of the same kind
            tag = "equal" if tag == "equal" else _change_tag(ahi - last[1], bhi - last[3])
            self.ops[-1] = (tag, last[1], ahi, last[3], bhi)
        else:
            self.ops.append((tag, alo, ahi, blo, bhi))

    def _region(self, alo, ahi, blo, bhi) -> list[tuple]:
        """The pieces of one region, in order."""
        a, b = self.a, self.b
        self.work += (ahi - alo) + (bhi - blo)
        head = 0
        while alo + head < ahi and blo + head < bhi and a[alo + head] == b[blo + head]:
            head += 1
        tail = 0
        while ahi - tail > alo + head and bhi - tail > blo + head and a[ahi - tail - 1] == b[bhi - tail - 1]:
            tail += 1
        middle = self._middle(alo + head, ahi - tail, blo + head, bhi - tail)
        return [("equal", alo, alo + head, blo, blo + head), *middle, ("equal", ahi - tail, ahi, bhi - tail, bhi)]

    def _middle(self, alo, ahi, blo, bhi) -> list[tuple]:
        if alo == ahi or blo == bhi:
            return [("change", alo, ahi, blo, bhi)]
        if self.work > self.budget:
            return self._whole(alo, ahi, blo, bhi)
        anchors = self._anchors(alo, ahi, blo, bhi)
        if anchors:
            pieces, i, j = [], alo, blo
            for ai, bj in anchors:
                pieces += [("region", i, ai, j, bj), ("equal", ai, ai + 1, bj, bj + 1)]
                i, j = ai + 1, bj + 1
            return [*pieces, ("region", i, ahi, j, bhi)]
        return self._myers(alo, ahi, blo, bhi) or self._whole(alo, ahi, blo, bhi)

    def _whole(self, alo, ahi, blo, bhi) -> list[tuple]:
        """The region as one change: coarse unless its two sides share no line."""
        if not set(self.a[alo:ahi]).isdisjoint(self.b[blo:bhi]):
            self.coarse = True
        return [("change", alo, ahi, blo, bhi)]

    def _anchors(self, alo, ahi, blo, bhi) -> list[tuple[int, int]]:
        """Lines found exactly once on each side: the longest run of them in the same order on both."""
        in_a: dict[int, int] = {}
        for i in range(alo, ahi):
            line = self.a[i]
            in_a[line] = -1 if line in in_a else i
        in_b: dict[int, int] = {}
        for j in range(blo, bhi):
            line = self.b[j]
            if in_a.get(line, -1) >= 0:
                in_b[line] = -1 if line in in_b else j
        return _longest_increasing(sorted((in_a[line], j) for line, j in in_b.items() if j >= 0))

    def _myers(self, alo, ahi, blo, bhi) -> list[tuple] | None:
        """A shortest edit script (Myers' O((N+M)·D) greedy algorithm), or None when it would cost
        more than the work left in the budget. v[off + k] is the furthest x on diagonal k."""
        a, b, n, m = self.a, self.b, ahi - alo, bhi - blo
        off = n + m + 1
        v, trace = [0] * (2 * off + 1), []
        for d in range(n + m + 1):
            trace.append(v[off - d - 1 : off + d + 2])  # diagonals -d-1 … d+1, read back by the path
            for k in range(-d, d + 1, 2):
                down = k == -d or (k != d and v[off + k - 1] < v[off + k + 1])
                x = v[off + k + 1] if down else v[off + k - 1] + 1
                y, start = x - k, x
                while x < n and y < m and a[alo + x] == b[blo + y]:
                    x, y = x + 1, y + 1
                self.work += MYERS_STEP * (1 + x - start)
                v[off + k] = x
                if x >= n and y >= m:
                    return _myers_path(trace, n, m, alo, blo)
                if self.work > self.budget:
                    return None
        return None


def _myers_path(trace: list[list[int]], x: int, y: int, alo: int, blo: int) -> list[tuple]:
    """The pieces of the path Myers found, walking back from (x, y) through the saved diagonals."""
    pieces = []
    for d in range(len(trace) - 1, -1, -1):
        v, k = trace[d], x - y
        at = k + d + 1  # diagonal k in trace[d]
        prev_k = k + 1 if k == -d or (k != d and v[at - 1] < v[at + 1]) else k - 1
        prev_x = v[prev_k + d + 1]
        prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:
            x, y = x - 1, y - 1
            pieces.append(("equal", alo + x, alo + x + 1, blo + y, blo + y + 1))
        if d:
            if x == prev_x:
                pieces.append(("change", alo + x, alo + x, blo + y - 1, blo + y))
            else:
                pieces.append(("change", alo + x - 1, alo + x, blo + y, blo + y))
        x, y = prev_x, prev_y
    return pieces[::-1]


def _change_tag(removed: int, added: int) -> str:
    return "replace" if removed and added else ("delete" if removed else "insert")


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Patience sorting: the longest subsequence of (i, j) pairs (sorted by i) increasing in j."""
    tops: list[int] = []  # j at the top of each pile
    top_index: list[int] = []
    back: list[int] = []
    for k, (_, j) in enumerate(pairs):
        pile = bisect_left(tops, j)
        back.append(top_index[pile - 1] if pile else -1)
        if pile == len(tops):
            tops.append(j)
            top_index.append(k)
        else:
            tops[pile], top_index[pile] = j, k
    out, k = [], top_index[-1] if top_index else -1
    while k >= 0:
        out.append(pairs[k])
        k = back[k]
    return out[::-1]


def diff_lines(old_text: str, new_text: str) -> LineDiff:
    """The line diff of two texts, in time linear in their size (see the module docstring)."""
    return diff_items(old_text.splitlines(), new_text.splitlines())


def diff_items(a: list[str], b: list[str]) -> LineDiff:
    """The same diff over any two lists of strings (lines, or Markdown blocks: core.blockdiff)."""
    ids: dict[str, int] = {}
    aligner = _Aligner([ids.setdefault(line, len(ids)) for line in a], [ids.setdefault(line, len(ids)) for line in b])
    opcodes = aligner.run()
    changes = [op for op in opcodes if op[0] != "equal"]
    return LineDiff(
        a=a,
        b=b,
        opcodes=opcodes,
        added=sum(j2 - j1 for _, _, _, j1, j2 in changes),
        removed=sum(i2 - i1 for _, i1, i2, _, _ in changes),
        coarse=aligner.coarse,
        work=aligner.work,
    )


def _hunks(opcodes: list[Opcode], context: int) -> list[list[Opcode]]:
    """difflib's get_grouped_opcodes: changes with `context` equal lines around them."""
    if not any(tag != "equal" for tag, *_ in opcodes):
        return []
    codes = list(opcodes)
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)
    hunks, group = [], []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            hunks.append(group)
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        hunks.append(group)
    return hunks


def _range(start: int, stop: int) -> str:
    length = stop - start
    first = start + 1 if length else start
    return str(first) if length == 1 else f"{first},{length}"


def unified_lines(
    diff: LineDiff, *, old_label: str, new_label: str, context: int = CONTEXT, max_rows: int | None = None
) -> tuple[list[str], bool]:
    """A unified diff (difflib's format, lineterm="") and whether it was cut at `max_rows` lines."""
    lines: list[str] = []
    for hunk in _hunks(diff.opcodes, context):
        if not lines:
            lines += [f"--- {old_label}", f"+++ {new_label}"]
        first, last = hunk[0], hunk[-1]
        lines.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@")
        for tag, i1, i2, j1, j2 in hunk:
            if tag == "equal":
                lines += [" " + line for line in diff.a[i1:i2]]
                continue
            lines += ["-" + line for line in diff.a[i1:i2]]
            lines += ["+" + line for line in diff.b[j1:j2]]
        if max_rows is not None and len(lines) > max_rows:
            return lines[:max_rows], True
    return lines, False


def side_by_side_rows(diff: LineDiff, *, context: int = CONTEXT, max_rows: int | None = None) -> tuple[list, bool]:
    """Side-by-side rows: every change, `context` equal lines around each, longer unchanged runs as
    one "skip" row; and whether the rows were cut at `max_rows`."""
    rows: list[DiffRow] = []
    last = len(diff.opcodes) - 1
    for index, (tag, i1, i2, j1, j2) in enumerate(diff.opcodes):
        if tag == "equal":
            before, after = (context if index > 0 else 0), (context if index < last else 0)
            if i2 - i1 > before + after + 1:
                rows += _equal_rows(diff, i1, j1, before)
                hidden = i2 - i1 - before - after
                rows.append(DiffRow("skip", None, f"{hidden:,} unchanged lines", None, ""))
                rows += _equal_rows(diff, i2 - after, j2 - after, after)
            else:
                rows += _equal_rows(diff, i1, j1, i2 - i1)
        else:
            for k in range(max(i2 - i1, j2 - j1)):
                left, right = i1 + k < i2, j1 + k < j2
                kind = tag if (left and right) else ("delete" if left else "insert")
                rows.append(
                    DiffRow(
                        kind,
                        i1 + k + 1 if left else None,
                        diff.a[i1 + k] if left else "",
                        j1 + k + 1 if right else None,
                        diff.b[j1 + k] if right else "",
                    )
                )
                if max_rows is not None and len(rows) > max_rows:
                    break
        if max_rows is not None and len(rows) > max_rows:
            return rows[:max_rows], True
    return rows, False


def _equal_rows(diff: LineDiff, i: int, j: int, count: int) -> list[DiffRow]:
    return [DiffRow("equal", i + k + 1, diff.a[i + k], j + k + 1, diff.b[j + k]) for k in range(count)]


def unified_text(old_text: str, new_text: str, *, old_label: str, new_label: str) -> str:
    """The whole unified diff of two texts as one string (stored with a label)."""
    lines, _ = unified_lines(diff_lines(old_text, new_text), old_label=old_label, new_label=new_label)
    return "\n".join(lines)
