"""Safe Markdown for untrusted text (guidelines, prompts, model output).

markdown-it-py with raw HTML off renders Markdown; nh3 (ammonia) then keeps an allow-list of tags
and attributes. Images are never loaded (a remote image URL can exfiltrate data): they become their
alt text plus the URL as plain text. Links get rel="noopener noreferrer nofollow" and only
http(s)/mailto schemes survive.
"""

import nh3
from markdown_it import MarkdownIt

_md = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable("table")
    .enable("strikethrough")
)


def _render_image(self, tokens, idx, options, env):
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    src = token.attrGet("src") or ""
    from html import escape

    return f'<span class="md-image">[image: {escape(alt)} — {escape(str(src))}]</span>'


_md.add_render_rule("image", _render_image)

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


def render_markdown(text: str) -> str:
    """Markdown → sanitized HTML string (safe to mark_safe)."""
    html = _md.render(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
