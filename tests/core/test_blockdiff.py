"""core.blockdiff: a Markdown diff by blocks, rendered through core.markdown (pure)."""

import time

from labelhub.core.blockdiff import block_diff, markdown_blocks


def test_blocks_are_paragraphs_headings_list_items_and_fences():
    text = "# Title\nIntro line one\nline two\n\n- a\n  more of a\n- b\n1. first\n\n```\ncode\n\nstill code\n```\n---\n"
    assert markdown_blocks(text) == [
        "# Title",
        "Intro line one\nline two",
        "- a\n  more of a",
        "- b",
        "1. first",
        "```\ncode\n\nstill code\n```",
        "---",
    ]


def test_changed_blocks_are_rendered_and_marked():
    old = "# Rules\n\nBe **kind**.\n\n- one\n- two\n\nA\n\nB\n\nC\n"
    new = "# Rules\n\nBe **kind**.\n\n- one\n- three\n\nA\n\nB\n\nC\n\n## New\n"
    diff = block_diff(old, new)
    assert (diff.added, diff.removed, diff.truncated) == (2, 1, False)
    rows = [(b.op, str(b.html).strip(), b.skipped) for b in diff.blocks]
    assert rows == [
        ("skip", "", 2),
        ("same", "<ul>\n<li>one</li>\n</ul>", 0),
        ("del", "<ul>\n<li>two</li>\n</ul>", 0),
        ("ins", "<ul>\n<li>three</li>\n</ul>", 0),
        ("same", "<p>A</p>", 0),
        ("skip", "", 1),
        ("same", "<p>C</p>", 0),
        ("ins", "<h2>New</h2>", 0),
    ]


def test_hostile_markdown_is_escaped_and_sanitised():
    diff = block_diff("Hi.\n", 'Hi.\n\n<img src=x onerror=alert(1)> [a](javascript:alert(2)) <b onclick="x">b</b>\n')
    html = "".join(str(b.html) for b in diff.blocks)
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript' not in html and "<b " not in html


def test_identical_texts_have_no_rows():
    assert block_diff("# Same\n", "# Same\n").blocks == []


def test_repetitive_large_texts_stay_fast_and_capped():
    old = "\n\n".join(f"Rule {i % 7}." for i in range(20_000))
    new = "\n\n".join(f"Rule {i % 5}." for i in range(20_000))
    start = time.perf_counter()
    diff = block_diff(old, new, max_blocks=100)
    assert time.perf_counter() - start < 3
    assert len(diff.blocks) == 100 and diff.truncated
