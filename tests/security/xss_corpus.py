"""Hostile strings for the XSS sweep (tests/e2e/test_xss_sweep.py), and the checks that prove them inert.

Every payload that could run sets `window.__xss` and/or calls `alert(...)` (seen as a dialog), and the
ones that could load something point at http://xss.invalid/... (seen as a request to a foreign host).
Nothing here contains a NUL or a lone surrogate: PostgreSQL cannot store them, and the services
refuse them before any page could show them.

- `LONG`: the full corpus, for text fields (prompts, candidates, guidelines, rationales, errors...).
- `SHORT`: payloads of at most 60 characters, for length-limited fields (project flags are 60,
  model config names 100, display names 150); `fit(n)` packs as many as fit in n characters.
- `ALL`: LONG and SHORT joined, for fields without a tight limit.
"""

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

OUT = "http://xss.invalid"
# What a template engine (server or client side) would make of {{1337*1337}} or ${1337*1337}.
EVALUATED = str(1337 * 1337)  # "1787569"

LONG: dict[str, str] = {
    # Classic script and event-handler injection, in text and attribute contexts.
    "script": "<script>window.__xss=1;alert('xss:script')</script>",
    "script-src": f'<script src="{OUT}/script-src.js"></script>',
    "img-onerror": '"><img src=x onerror="window.__xss=1;alert(\'xss:img-onerror\')">',
    "img-onerror-sq": "'><img src=x onerror='window.__xss=1;alert(`xss:img-onerror-sq`)'>",
    "svg-onload": "<svg/onload=window.__xss=1;alert('xss:svg-onload')>",
    "svg-nested": "<svg><g/onload=alert('xss:svg-nested')></g>"
    "<a xlink:href=\"javascript:alert('xss:svg-a')\">x</a></svg>",
    "autofocus": '" autofocus onfocus="window.__xss=1;alert(\'xss:autofocus\')" x="',
    "autofocus-sq": "' autofocus onfocus='window.__xss=1;alert(`xss:autofocus-sq`)' x='",
    "unquoted-attr": "x onmouseover=alert('xss:unquoted') autofocus onfocus=alert('xss:unquoted-focus')",
    "textarea-breakout": "</textarea><script>window.__xss=1;alert('xss:textarea')</script>"
    f'<img src="{OUT}/textarea">',
    "title-breakout": "</title><script>window.__xss=1;alert('xss:title')</script>",
    "script-breakout": "</script><script>window.__xss=1;alert('xss:script-breakout')</script>",
    "style-breakout": f'</style><img src="{OUT}/style-breakout" onerror="alert(\'xss:style\')">',
    "details": "<details open ontoggle=\"window.__xss=1;alert('xss:details')\"><summary>x</summary></details>",
    "input-autofocus": "<input autofocus onfocus=\"window.__xss=1;alert('xss:input')\">",
    "body-onload": "<body onload=\"window.__xss=1;alert('xss:body')\">",
    "iframe-js": "<iframe src=\"javascript:parent.__xss=1;alert('xss:iframe')\"></iframe>",
    "iframe-srcdoc": "<iframe srcdoc=\"&lt;script&gt;parent.__xss=1;alert('xss:srcdoc')&lt;/script&gt;\"></iframe>",
    "object": f'<object data="{OUT}/object"></object><embed src="{OUT}/embed">',
    "base": f'<base href="{OUT}/base/">',
    "meta-refresh": f'<meta http-equiv="refresh" content="0;url={OUT}/meta-refresh">',
    "link-css": f'<link rel="stylesheet" href="{OUT}/link.css">',
    "style-import": f'<style>@import "{OUT}/import.css"; body{{background:url({OUT}/bg)}}</style>',
    "inline-style": f'<div style="background-image:url({OUT}/inline-style)">x</div>',
    "form-action": f'<form action="{OUT}/form"><button formaction="javascript:alert(1)">go</button></form>',
    "media": f'<video src="{OUT}/video" onerror="alert(\'xss:video\')"></video><audio src=x onerror=alert(1)>',
    "mxss-noscript": "<noscript><p title=\"</noscript><img src=x onerror=alert('xss:mxss-noscript')>\">",
    "mxss-math": "<math><mtext><table><mglyph><style><img src=x onerror=alert('xss:mxss-math')>",
    "comment-breakout": "--><script>alert('xss:comment')</script><!--",
    # htmx: markup that htmx would act on if it ever reached the DOM unescaped.
    "htmx-get": f'<div hx-get="{OUT}/htmx" hx-trigger="load">x</div>',
    "htmx-on": '<div hx-on::load="window.__xss=1;alert(\'xss:htmx-on\')" hx-get="/" hx-trigger="load">x</div>',
    "htmx-attrs": f'<img src="/static/img/favicon.svg" hx-get="{OUT}/htmx-img" hx-trigger="load">',
    # Template injection, server side (Django, Jinja) and client side (Angular/Vue-style).
    "template": "{{1337*1337}} ${1337*1337} #{1337*1337} <%= 1337*1337 %> {% debug %} {{ request }}",
    "client-template": "{{constructor.constructor('window.__xss=1;alert(`xss:ctpl`)')()}}",
    # URL schemes.
    "js-url": "javascript:window.__xss=1;alert('xss:js-url')//",
    "data-url": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    # Markdown: links, images and references with hostile targets, raw HTML, autolinks.
    "md-link-js": "[click me](javascript:window.__xss=1;alert('xss:md-link'))",
    "md-link-js-case": "[click](JaVaScRiPt:alert('xss:md-case'))",
    "md-link-entity": "[click](&#106;avascript:alert('xss:md-entity'))",
    "md-link-ws": "[click]( javascript:alert('xss:md-ws'))",
    "md-link-data": "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "md-link-vbs": "[click](vbscript:msgbox(1))",
    "md-autolink": "<javascript:alert('xss:md-autolink')>",
    "md-reference": "[ref-link][r1]\n\n[r1]: javascript:alert('xss:md-ref')",
    "md-image": f"![tracking pixel]({OUT}/md-image.png)",
    "md-image-title": f'![x]({OUT}/md-image-title.png "a title")',
    "md-image-onerror": "![x](x\" onerror=\"alert('xss:md-img-attr'))",
    "md-image-ref": f"![pix][img1]\n\n[img1]: {OUT}/md-image-ref.png",
    "md-link-title": '[x](http://example.test "title\\" onmouseover=alert(\'xss:md-title\') x=\\"")',
    "md-html-block": "<div>\n<img src=x onerror=alert('xss:md-html-block')>\n</div>",
    "md-code": "`<script>alert('xss:md-code')</script>` and\n\n```html\n<img src=x onerror=alert(1)>\n```",
    "md-table": "| a | b |\n|---|---|\n| <img src=x onerror=alert('xss:md-table')> | [x](javascript:alert(1)) |",
    # Unicode: RTL override, zero-width joiners inside tag names, full-width brackets, homoglyphs.
    "unicode-rtl": "\u202e<img src=x onerror=alert('xss:rtl')>\u202dgpj.exe \u2066isolate\u2069",
    "unicode-zw": "<scr\u200bipt>alert('xss:zw')</scr\u200bipt> \ufeff<img\u200bsrc=x onerror=alert(1)>",
    "unicode-fullwidth": "\uff1cscript\uff1ealert('xss:fullwidth')\uff1c/script\uff1e",
    "unicode-lines": "line\u2028separator\u2029paragraph </script><script>alert('xss:u2028')</script>",
    "unicode-emoji": "\U0001f600 \u00e9\u0301 \u0410\u0430 \U0001f4a9<img src=x onerror=alert('xss:emoji')>",
}

SHORT: dict[str, str] = {
    "s-img": '"><img src=x onerror=alert(1)>',
    "s-script": "<script>alert(2)</script>",
    "s-svg": "'><svg/onload=alert(3)>",
    "s-textarea": "</textarea><img src=x onerror=alert(4)>",
    "s-focus": '" autofocus onfocus=alert(5) x="',
    "s-template": "{{1337*1337}}${1337*1337}",
    "s-js": "javascript:alert(7)",
    "s-out": f"<img src={OUT}/s8>",
    "s-script-end": "</script><script>alert(9)</script>",
    "s-iframe": "<iframe src=javascript:alert(10)>",
    "s-md": "[x](javascript:alert(11))",
    "s-htmx": f"<b hx-get={OUT}/s12 hx-trigger=load>",
    "s-rtl": "\u202e<svg onload=alert(13)>",
}

PAYLOADS: dict[str, str] = {**LONG, **SHORT}
ALL = "\n\n".join(f"{key}: {value}" for key, value in PAYLOADS.items())


def fit(limit: int, start: int = 0, sep: str = " ") -> str:
    """As many SHORT payloads as fit in `limit` characters, starting at the `start`-th one (so that
    objects of the same kind lead with different payloads)."""
    values = list(SHORT.values())
    values = values[start % len(values) :] + values[: start % len(values)]
    out = ""
    for value in values:
        candidate = f"{out}{sep}{value}" if out else value
        if len(candidate) > limit:
            break
        out = candidate
    return out or values[0][:limit]


def shorts(limit: int, count: int | None = None) -> list[str]:
    """Distinct SHORT payloads of at most `limit` characters (for list fields: flags, tags, stops)."""
    found = [v for v in SHORT.values() if len(v) <= limit]
    return found[:count] if count else found


# Server-side check ----------------------------------------------------------------------------------

# Payloads that hold a tag bracket: their verbatim presence in a page means they went out unescaped.
# (Quotes alone are harmless in text: Markdown's sanitizer leaves them raw in text nodes. Attribute
# breakouts with quotes, `javascript:` URLs and the template probes are caught by the structural
# rules below and by EVALUATED.)
_SPECIAL = re.compile(r"[<>]")
VERBATIM = {key: value for key, value in PAYLOADS.items() if _SPECIAL.search(value)}
# Each payload's first tag, e.g. "<img src=x onerror=" - a finer needle than the whole payload
# (the whole payload may be cut by a length limit, or split by Markdown into paragraphs).
_TAG = re.compile(r"<(?!/)[a-zA-Z][^<>\s]*(?:\s[^<>]{0,40})?")
NEEDLES = sorted(
    {m.group(0) for value in PAYLOADS.values() for m in _TAG.finditer(value) if "=" in m.group(0)},
    key=len,
)

URL_ATTRS = {
    "src",
    "srcset",
    "action",
    "formaction",
    "data",
    "poster",
    "background",
    "xlink:href",
    "ping",
    "hx-get",
    "hx-post",
    "hx-put",
    "hx-patch",
    "hx-delete",
    "data-hx-get",
    "data-hx-post",
}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:text", "data:application")
FORBIDDEN_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "base"}


def _scheme_of(value: str) -> str:
    return re.sub(r"[\x00-\x20\u200b\ufeff]", "", value).lower()


class _Scan(HTMLParser):
    """The parsed tags of a page: what a browser would build, roughly (html.parser unescapes
    attribute values the way a browser does)."""

    def __init__(self, own_host: str):
        super().__init__(convert_charrefs=True)
        self.own_host = own_host
        self.problems: list[str] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        where = f"<{tag}>"
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"{where} element")
        if tag == "meta" and any(k == "http-equiv" and (v or "").lower() == "refresh" for k, v in attrs):
            self.problems.append(f"{where} http-equiv=refresh")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"{where} event handler {name}={value[:60]!r}")
            url_attr = name in URL_ATTRS or (name == "href" and tag != "a")
            if (url_attr or name == "href") and _scheme_of(value).startswith(BAD_SCHEMES):
                self.problems.append(f"{where} {name}={value[:60]!r}")
            if url_attr and value.startswith(("http://", "https://", "//")):
                host = urlsplit(value if not value.startswith("//") else "http:" + value).netloc
                if host != self.own_host:
                    self.problems.append(f"{where} {name} loads from another host: {value[:80]!r}")
            if name == "style" and "url(" in value.replace(" ", "").lower():
                self.problems.append(f"{where} style with url(): {value[:60]!r}")
            if name == "srcdoc":
                self.problems.append(f"{where} srcdoc")
        if tag == "script":
            self._script = dict(attrs)
            self._script["__text"] = ""

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            script, self._script = self._script, None
            if not script.get("src") and (script.get("type") or "") != "application/json" and script["__text"].strip():
                self.problems.append(f"inline <script>: {script['__text'].strip()[:80]!r}")
            src = script.get("src") or ""
            if src.startswith(("http://", "https://", "//")) and urlsplit(src).netloc != self.own_host:
                self.problems.append(f"<script src> from another host: {src[:80]!r}")

    def handle_data(self, data):
        if self._script is not None:
            self._script["__text"] += data


def html_problems(html: str, own_host: str) -> list[str]:
    """Why `html` (a page or fragment as the server sent it) is not inert, or [] when it is."""
    problems = [f"payload {key!r} verbatim (unescaped)" for key, value in VERBATIM.items() if value in html]
    problems += [f"unescaped tag {needle!r}" for needle in NEEDLES if needle in html]
    if EVALUATED in html:
        problems.append(f"{EVALUATED} in the page: a template evaluated 1337*1337")
    scan = _Scan(own_host)
    scan.feed(html)
    scan.close()
    return problems + scan.problems


# Browser-side check: the same rules on the live DOM, after scripts and htmx ran. ---------------------
DOM_SCAN_JS = (
    "\n".join(
        line for line in Path(__file__).with_name("dom_scan.js").read_text().splitlines() if not line.startswith("//")
    )
    .replace("%URL_ATTRS%", json.dumps(sorted(URL_ATTRS)))
    .replace("%BAD_SCHEMES%", json.dumps(list(BAD_SCHEMES)))
    .replace("%FORBIDDEN%", json.dumps(sorted(FORBIDDEN_TAGS)))
    .replace("%EVALUATED%", EVALUATED)
)
