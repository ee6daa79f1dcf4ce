// DOM helpers and the page's fixed nodes. Text (model output, schema labels, server messages) only
// reaches the page through textContent, text nodes and setAttribute: never innerHTML.

export const page = {
  root: document.getElementById("wb-task"),
  alertBox: document.getElementById("wb-alert"),
  statusBox: document.getElementById("wb-status"),
  keysBox: document.getElementById("wb-keys"),
  helpDialog: document.getElementById("wb-help"),
  helpButton: document.getElementById("wb-help-button"),
  helpRows: document.getElementById("wb-help-questions"),
  skipDialog: document.getElementById("wb-skip"),
  skipForm: document.getElementById("wb-skip-form"),
  skipReason: document.getElementById("wb-skip-reason"),
  skipError: document.getElementById("wb-skip-error"),
  skipSubmit: document.getElementById("wb-skip-submit"),
  guidelines: document.getElementById("wb-guidelines"),
};

// h("tag", {attr: value, text: "…"}, child, [children], "text"): text always becomes text nodes.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function fire(el, type) {
  el.dispatchEvent(new Event(type, { bubbles: true }));
}

export function isTyping(el) {
  if (!el || !el.tagName) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName.toLowerCase();
  if (tag === "textarea" || tag === "select") return true;
  if (tag !== "input") return false;
  return ["text", "number", "search", "email", "password", "url", "tel"].includes(el.type);
}

// localStorage, when the browser allows it (null / ignored otherwise).
export function stored(key) {
  try {
    return window.localStorage.getItem(key);
  } catch (err) {
    return null;
  }
}

export function store(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch (err) {
    // storage disabled: the choice lasts until the page is left
  }
}

export function clock(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// The status line (a live region in the page's bar), mirrored in the task's bottom bar (wb-dock).
export function setStatus(text) {
  page.statusBox.textContent = text || "";
  const mirror = page.root.querySelector(".wb-dock-status");
  if (mirror) mirror.textContent = text || "";
}

let keysTimer = null;

// The key hint at the bottom: a pending key stays until answered; a result fades after a while.
export function setKeys(text, sticky) {
  clearTimeout(keysTimer);
  page.keysBox.textContent = text || "";
  if (text && !sticky) keysTimer = setTimeout(() => { page.keysBox.textContent = ""; }, 3500);
}

// kind: error | stale | info. items: extra lines. actions: nodes (buttons) under the message.
export function showAlert(message, options = {}) {
  const kind = options.kind || "error";
  const box = h(
    "div",
    { class: "wb-flash wb-flash-" + kind },
    options.title ? h("strong", { class: "wb-flash-title", text: options.title }) : null,
    h("p", { class: "wb-flash-message", text: message }),
    options.items && options.items.length
      ? h("ul", { class: "wb-flash-items" }, options.items.map((item) => h("li", { text: item })))
      : null,
    options.actions && options.actions.length ? h("div", { class: "form-actions" }, options.actions) : null
  );
  page.alertBox.replaceChildren(box);
  if (options.scroll !== false) page.alertBox.scrollIntoView({ block: "nearest" });
}

export function clearAlert() {
  page.alertBox.replaceChildren();
}

// Markdown. The server renders it (labelhub/core/markdown.py, the one renderer of every page) and
// sends `html` beside each message's and answer's `content`. It is parsed into an inert document
// (DOMParser runs no script and loads nothing) and only the allow-listed elements and attributes
// are copied into the page, as new nodes: the same lists as core/markdown.py (ALLOWED_TAGS,
// ALLOWED_ATTRIBUTES; tests/core/test_markdown.py compares them). Anything else keeps only its text.
export const MD_TAGS = [
  "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol", "p", "pre",
  "s", "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
];
export const MD_ATTRIBUTES = {
  a: ["href", "title"], code: ["class"], ol: ["start"], span: ["class"], td: ["align"], th: ["align"],
};
const SAFE_URL = /^(https?:|mailto:)/i;
const SAFE_VALUE = { class: /^(md-image|language-[\w+#.-]{1,40})$/, align: /^(left|right|center)$/, start: /^\d{1,9}$/ };

function copyAttributes(from, to, tag) {
  for (const name of MD_ATTRIBUTES[tag] || []) {
    const value = from.getAttribute(name);
    if (value === null) continue;
    if (name === "href" && !SAFE_URL.test(value.trim())) continue;
    if (SAFE_VALUE[name] && !SAFE_VALUE[name].test(value)) continue;
    to.setAttribute(name, value);
  }
  if (tag === "a") to.setAttribute("rel", "noopener noreferrer nofollow");
}

function copyNode(node) {
  if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.data);
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const tag = node.localName;
  const children = Array.from(node.childNodes, copyNode).flat().filter(Boolean);
  if (!MD_TAGS.includes(tag)) return children.length ? children : null;
  const el = document.createElement(tag);
  copyAttributes(node, el, tag);
  append(el, children);
  return el;
}

// The nodes of a sanitized HTML string, rebuilt from the allow-list (never innerHTML on the page).
export function markdownNodes(html) {
  const doc = new DOMParser().parseFromString(String(html || ""), "text/html");
  return Array.from(doc.body.childNodes, copyNode).flat().filter(Boolean);
}

// Model answers and prompt messages: rendered Markdown, or the raw text when the labeler asks for it.
// Every block of the task on screen is kept so the raw/rendered toggle redraws them all.
const blocks = [];
let rawText = false;

function fillBlock(block) {
  const { el, content, html } = block;
  const raw = rawText || typeof html !== "string";
  el.classList.toggle("markdown-body", !raw);
  el.classList.toggle("is-raw", raw);
  el.replaceChildren(...(raw ? [document.createTextNode(content)] : markdownNodes(html)));
}

// `label` names a block that scrolls inside its card (an answer): a focusable region, so keyboard users
// can scroll it too (axe: scrollable-region-focusable).
export function textBlock(content, html, className, label) {
  const region = label ? { tabindex: "0", role: "region", "aria-label": label } : {};
  const el = h("div", { class: "wb-text " + (className || ""), dir: "auto", ...region });
  const block = { el, content: String(content == null ? "" : content), html };
  blocks.push(block);
  fillBlock(block);
  return el;
}

export function forgetTextBlocks() {
  blocks.length = 0;
}

export function showRawText(on) {
  rawText = !!on;
  blocks.forEach(fillBlock);
}

export function rawTextShown() {
  return rawText;
}
