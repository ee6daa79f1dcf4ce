// labelhub workbench: the labeler's task area, driven by the JSON API (see api.js). Loaded as an
// ES module on the workbench page only. CSP: no inline script or style, so everything builds DOM
// nodes; model, prompt and schema text only reach the page as text (dom.js).
//
// Modules: state (S, els, setPhase), api, schema (the page's or the task's), questions (one
// renderer per type), ranking, demonstration, comparison, task (load and draw), drafts, submit,
// dialogs, keyboard. This file wires the page's events and loads the first task.

import { config, els, S } from "./state.js";
import { page, store, stored } from "./dom.js";
import { renderBoard, installDrag } from "./ranking.js";
import { changed, flushDraft } from "./drafts.js";
import { clearSource, startFrom, undoSource, updateSourceNote } from "./demonstration.js";
import { loadNext } from "./task.js";
import { submit } from "./submit.js";
import { installDialogs, openSkip } from "./dialogs.js";
import { onKeydown, select } from "./keyboard.js";

const ACTIONS = {
  next: () => loadNext(),
  skip: () => openSkip(),
  "start-from": (button) => startFrom(Number(button.getAttribute("data-index"))),
  "clear-source": () => clearSource(),
  "undo-source": () => undoSource(),
};

function onClick(event) {
  const button = event.target.closest("[data-action]");
  if (button && !button.disabled) {
    const action = ACTIONS[button.getAttribute("data-action")];
    if (action) action(button);
    return;
  }
  const card = event.target.closest(".wb-cand");
  if (card && S.phase === "editing") select(Number(card.getAttribute("data-index")), false);
}

function onChange(event) {
  if (!els.form || !els.form.contains(event.target)) return;
  const flagged = event.target.closest(".has-error");
  if (flagged) {
    flagged.classList.remove("has-error");
    flagged.querySelectorAll(".field-error").forEach((node) => { node.hidden = true; });
  }
  if (event.target.classList.contains("wb-rank-input")) renderBoard();
  if (event.target === els.answer && S.demoSource !== null && S.undo) {
    S.undo = null; // once edited, undoing the start would lose the edits
    updateSourceNote();
  }
  changed();
}

function installTaskEvents() {
  const root = page.root;
  root.addEventListener("click", onClick);
  page.alertBox.addEventListener("click", (event) => {
    if (event.target.closest("[data-action='next']")) loadNext();
  });
  root.addEventListener("focusin", (event) => {
    const card = event.target.closest(".wb-cand");
    if (card && S.task) select(Number(card.getAttribute("data-index")), false);
  });
  root.addEventListener("submit", (event) => {
    event.preventDefault();
    // Enter in a small field submits a form implicitly (no submitter): only the button or Ctrl+Enter do.
    if (event.submitter) submit();
  });
  root.addEventListener("input", onChange);
  root.addEventListener("wb-changed", changed);
  root.addEventListener("change", (event) => {
    if (event.target.type === "radio" || event.target.type === "checkbox") onChange(event);
  });
  installDrag();
}

function installPageEvents() {
  document.addEventListener("keydown", onKeydown);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flushDraft();
  });
  window.addEventListener("pagehide", flushDraft);
}

// The guidelines panel remembers whether it is open, and the task area widens when it is shut.
function installGuidelinesPanel() {
  const panel = page.guidelines;
  const workbench = page.root.closest(".workbench");
  if (!panel || !workbench) return;
  const storageKey = "labelhub.workbench.guidelines." + config.projectId;
  // A phone shows the task first and the guidelines shut (one tap opens them); elsewhere the last choice.
  const phone = window.matchMedia("(max-width: 640px)").matches;
  if (phone || stored(storageKey) === "closed") panel.open = false;
  const initial = panel.open;
  let settled = false;
  const sync = () => workbench.classList.toggle("is-guidelines-closed", !panel.open);
  sync();
  panel.addEventListener("toggle", () => {
    sync();
    // Closing it above fires a toggle event too: only the labeler's own toggles are remembered.
    if (!settled && panel.open === initial) return void (settled = true);
    settled = true;
    store(storageKey, panel.open ? "open" : "closed");
  });
}

if (config && page.root) {
  installTaskEvents();
  installPageEvents();
  installDialogs();
  installGuidelinesPanel();
  loadNext();
}
