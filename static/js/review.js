// The review queue by keyboard (templates/labeling/review.html; loaded on that page only):
// j / k move between labels, a accepts the focused one, x opens its reject comment, Ctrl+Enter
// sends it, Escape leaves the comment box. Decisions go through htmx (the forms' hx-post): the card
// is swapped for its decided state in place and the focus moves on to the next label.
// CSP-safe: no inline code, no innerHTML; the page works without this file (plain forms).

const CARD = "[data-review-card]";

let focused = null;

function cards() {
  return Array.from(document.querySelectorAll(CARD));
}

function focusCard(card, scroll = true) {
  if (!card) return;
  if (focused && focused !== card) focused.classList.remove("is-focused");
  focused = card;
  card.classList.add("is-focused");
  card.focus({ preventScroll: true });
  if (scroll) card.scrollIntoView({ block: "start", behavior: "instant" });
}

function move(step) {
  const all = cards();
  if (!all.length) return;
  const at = all.indexOf(focused);
  const next = at < 0 ? all[0] : all[Math.min(Math.max(at + step, 0), all.length - 1)];
  focusCard(next);
}

function pending(card) {
  return card && !card.hasAttribute("data-decided") ? card : null;
}

function accept() {
  const card = pending(focused);
  const form = card && card.querySelector("form.review-accept");
  if (form) form.requestSubmit();
}

function openReject() {
  const card = pending(focused);
  const box = card && card.querySelector("form.review-reject textarea");
  if (box) box.focus();
}

function typing(target) {
  return target instanceof HTMLElement && target.closest("input, textarea, select, [contenteditable]");
}

function onKey(event) {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    const form = event.target instanceof HTMLElement && event.target.closest("form.review-reject");
    if (form) {
      event.preventDefault();
      form.requestSubmit();
    }
    return;
  }
  if (event.key === "Escape" && typing(event.target)) {
    const card = event.target.closest(CARD);
    event.target.blur();
    focusCard(card, false);
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  const actions = { j: () => move(1), k: () => move(-1), a: accept, x: openReject };
  const action = actions[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
}

// After htmx swapped a card for its decided state: keep it in place, focus the next label waiting.
// (htmx fires afterSettle on the new element; its detail.target is the replaced one, found again by id.)
function onSwapped(event) {
  const target = event.detail && event.detail.target;
  const card = event.target instanceof HTMLElement && event.target.matches(CARD)
    ? event.target
    : target && target.id && document.getElementById(target.id);
  if (!(card instanceof HTMLElement) || !card.matches(CARD + "[data-decided]")) return;
  const all = cards();
  const next = all.slice(all.indexOf(card) + 1).find((c) => !c.hasAttribute("data-decided"));
  focused = card;
  if (next) focusCard(next);
  else focusCard(card, false);
}

document.addEventListener("keydown", onKey);
document.body.addEventListener("htmx:afterSettle", onSwapped);
document.addEventListener("focusin", (event) => {
  const card = event.target instanceof HTMLElement && event.target.closest(CARD);
  if (card && card !== focused) {
    if (focused) focused.classList.remove("is-focused");
    focused = card;
    card.classList.add("is-focused");
  }
});
const fromHash = location.hash && document.querySelector(location.hash.replace(/[^#\w-]/g, ""));
focusCard(fromHash && fromHash.matches(CARD) ? fromHash : cards()[0], Boolean(fromHash));
