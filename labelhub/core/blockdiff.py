"""A readable diff of two Markdown texts: block by block (paragraphs, headings, list items, code
fences, tables), each changed block rendered as Markdown through core.markdown (markdown-it with
HTML off, then the nh3 allow-list), so a reader sees the new rule as it reads, marked inserted or
removed, instead of `@@` / `+` / `**` lines.

Blocks are aligned by core.diff (bounded time on any input). Unchanged blocks are kept only next to
a change (`context` of them); longer runs become a "skip" row saying how many were left out. At most
`max_blocks` rows and MAX_CHARS characters are rendered (Markdown costs ~20 µs a line), a block at most
BLOCK_CHARS: past that the diff says it was cut.
"""

import re
from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe

from .diff import diff_items
from .markdown import render_markdown

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}(\s|$)")
_ITEM = re.compile(r"^ {0,3}([-+*]|\d{1,9}[.)])(\s|$)")
_RULE = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")

CONTEXT = 1
MAX_BLOCKS = 300
BLOCK_CHARS = 8_000  # a longer block is shown cut (a 200 KB paragraph must not be rendered whole, twice)
MAX_CHARS = 100_000  # rendered in all; past it the rows stop


@dataclass(frozen=True)
class Block:
    """One row of a block diff: `op` is same, ins, del or skip (then `skipped` unchanged blocks
    were left out and `html` is empty)."""

    op: str
    html: SafeString
    skipped: int = 0


@dataclass(frozen=True)
class BlockDiff:
    blocks: list[Block]
    added: int  # blocks inserted (counted over the whole diff)
    removed: int  # blocks removed
    truncated: bool  # rows cut at max_blocks
    coarse: bool  # core.diff gave up aligning some region finely


def markdown_blocks(text: str) -> list[str]:
    """Split Markdown into blocks: a fenced code block whole; each heading, rule and list item on its
    own (with its continuation lines); otherwise runs of lines between blank lines."""
    blocks: list[str] = []
    current: list[str] = []
    fence = ""

    def flush() -> None:
        if current:
            blocks.append("\n".join(current))
            current.clear()

    for line in (text or "").replace("\r\n", "\n").split("\n"):
        if fence:
            current.append(line)
            if line.strip().startswith(fence):
                flush()
                fence = ""
            continue
        opening = _FENCE.match(line)
        if opening:
            flush()
            fence = opening.group(1)
            current.append(line)
        elif not line.strip():
            flush()
        elif _HEADING.match(line) or _RULE.match(line):
            flush()
            blocks.append(line)
        elif _ITEM.match(line):
            flush()
            current.append(line)
        else:
            current.append(line)
    flush()
    return blocks


def _render(block: str) -> SafeString:
    return mark_safe(render_markdown(block))  # noqa: S308 - sanitised by nh3 in render_markdown


def _rows(diff, context: int) -> list[tuple[str, str, int]]:
    """(op, block text, skipped) rows: changes, with `context` unchanged blocks on each side."""
    rows: list[tuple[str, str, int]] = []
    last = len(diff.opcodes) - 1
    for n, (tag, i1, i2, j1, j2) in enumerate(diff.opcodes):
        if tag == "equal":
            same = diff.a[i1:i2]
            head = same[:context] if n > 0 else []
            tail = same[len(same) - context :] if n < last and context else []
            if len(head) + len(tail) >= len(same):
                rows += [("same", b, 0) for b in same]
                continue
            rows += [("same", b, 0) for b in head]
            rows.append(("skip", "", len(same) - len(head) - len(tail)))
            rows += [("same", b, 0) for b in tail]
            continue
        rows += [("del", b, 0) for b in diff.a[i1:i2]]
        rows += [("ins", b, 0) for b in diff.b[j1:j2]]
    return rows


def block_diff(old_text: str, new_text: str, *, context: int = CONTEXT, max_blocks: int = MAX_BLOCKS) -> BlockDiff:
    """The block diff of two Markdown texts (see the module docstring). Identical texts: no rows."""
    diff = diff_items(markdown_blocks(old_text), markdown_blocks(new_text))
    if diff.added == 0 and diff.removed == 0:
        return BlockDiff(blocks=[], added=0, removed=0, truncated=False, coarse=False)
    rows = _rows(diff, context)
    blocks: list[Block] = []
    budget, truncated = MAX_CHARS, len(rows) > max_blocks
    for op, text, skipped in rows[:max_blocks]:
        if len(text) > BLOCK_CHARS:
            text, truncated = text[:BLOCK_CHARS] + " …", True
        budget -= len(text)
        if budget < 0:
            truncated = True
            break
        blocks.append(Block(op=op, html=_render(text) if text else mark_safe(""), skipped=skipped))
    return BlockDiff(blocks=blocks, added=diff.added, removed=diff.removed, truncated=truncated, coarse=diff.coarse)
