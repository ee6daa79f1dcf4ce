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

export function clock(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function setStatus(text) {
  page.statusBox.textContent = text || "";
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
