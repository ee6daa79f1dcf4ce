"""labelhub.core.markdown, the one Markdown renderer: documents vs conversation text (single line
breaks kept), what the sanitizer lets through, and the workbench's mirror of its allow-list
(static/js/workbench/dom.js MD_TAGS / MD_ATTRIBUTES, which rebuilds the task's `html` in the page)."""

import json
import re
from pathlib import Path

from django.template import Context, Template

from labelhub.core.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown

DOM_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "workbench" / "dom.js"
FOUR_LINES = "Line one\nLine two\nLine three\nLine four"


def test_conversation_text_keeps_single_line_breaks():
    html = render_markdown(FOUR_LINES, breaks=True)
    assert html.count("<br>") == 3
    assert html.count("<p>") == 1


def test_documents_follow_commonmark():
    assert "<br>" not in render_markdown(FOUR_LINES)


def test_code_fences_lists_and_tables():
    text = (
        "```python\nif a < b:\n    pass\n```\n\n- one\n- two\n\n1. first\n2. second\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    html = render_markdown(text, breaks=True)
    assert '<pre><code class="language-python">if a &lt; b:\n    pass\n</code></pre>' in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<ol>" in html and "<table>" in html and "<td>1</td>" in html
    # Line breaks inside a code block stay newlines (no <br> in code).
    assert "<br>" not in html.split("</pre>")[0]


def test_hostile_html_stays_text():
    hostile = "<img src=x onerror=alert(1)> <script>alert(2)</script> [x](javascript:alert(4)) ![a](http://h/leak)"
    for breaks in (False, True):
        html = render_markdown(hostile, breaks=breaks)
        assert "<img" not in html and "<script" not in html and 'href="javascript' not in html
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
        assert '<span class="md-image">[image: a — http://h/leak]</span>' in html


def test_links_are_nofollow_and_only_safe_schemes():
    html = render_markdown("[ok](https://example.org) [mail](mailto:a@b.c)", breaks=True)
    assert html.count('rel="noopener noreferrer nofollow"') == 2


def test_markdown_text_filter():
    html = Template("{% load labelhub %}{{ text|markdown_text }}").render(Context({"text": FOUR_LINES + "\n<b>x</b>"}))
    assert html.count("<br>") == 4 and "&lt;b&gt;x&lt;/b&gt;" in html


def _js_constant(source: str, name: str) -> str:
    match = re.search(rf"export const {name} = (\[.*?\]|\{{.*?\}});", source, re.S)
    assert match, name
    return match.group(1)


def test_workbench_mirrors_the_allow_list():
    source = DOM_JS.read_text()
    tags = json.loads(_js_constant(source, "MD_TAGS").replace(",\n]", "\n]"))
    assert set(tags) == ALLOWED_TAGS
    attributes = _js_constant(source, "MD_ATTRIBUTES")
    as_json = re.sub(r"(\w+):", r'"\1":', attributes).replace(",\n}", "\n}")
    assert {tag: set(names) for tag, names in json.loads(as_json).items()} == ALLOWED_ATTRIBUTES
    # The page never uses innerHTML: the sanitized HTML is rebuilt node by node.
    workbench = DOM_JS.parent
    sinks = re.compile(r"\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML\(|document\.write\(")
    assert [p.name for p in workbench.glob("*.js") if sinks.search(p.read_text())] == []
