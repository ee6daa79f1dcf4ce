"""Safe Markdown for untrusted text (guidelines, prompts, model output): the one renderer of the
server pages and of the workbench (the task JSON carries its output as `html`).

markdown-it-py with raw HTML off renders Markdown; nh3 (ammonia) then keeps an allow-list of tags
and attributes. Images are never loaded (a remote image URL can exfiltrate data): they become their
alt text plus the URL as plain text. Links get rel="noopener noreferrer nofollow" and only
http(s)/mailto schemes survive.

Two flavours: documents (guidelines) follow CommonMark, where a single line break joins lines into
one paragraph; conversation text (prompts, model answers, labels) keeps single line breaks
(`render_markdown(text, breaks=True)`, the `markdown_text` filter): a 4-line answer stays 4 lines.

static/js/workbench/dom.js mirrors ALLOWED_TAGS / ALLOWED_ATTRIBUTES when it turns `html` into nodes
(tests/core/test_markdown.py checks the two lists are equal).
"""

from html import escape

import nh3
from markdown_it import MarkdownIt


def _parser(*, breaks: bool) -> MarkdownIt:
    options = {"html": False, "linkify": False, "typographer": False, "breaks": breaks}
    return MarkdownIt("commonmark", options).enable("table").enable("strikethrough")


_md = _parser(breaks=False)
_md_breaks = _parser(breaks=True)


def _render_image(self, tokens, idx, options, env):
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    src = token.attrGet("src") or ""
    return f'<span class="md-image">[image: {escape(alt)} — {escape(str(src))}]</span>'


_md.add_render_rule("image", _render_image)
_md_breaks.add_render_rule("image", _render_image)

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "span",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "span": {"class"},
    "code": {"class"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}


def render_markdown(text: str, *, breaks: bool = False) -> str:
    """Markdown → sanitized HTML string (safe to mark_safe). breaks=True keeps single line breaks."""
    html = (_md_breaks if breaks else _md).render(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
