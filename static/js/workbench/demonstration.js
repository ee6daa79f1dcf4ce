// A demonstration: the model answers to start from, and the labeler's own answer.

import { els, formChanged, S } from "./state.js";
import { h, textBlock } from "./dom.js";
import { candidateIndex } from "./schema.js";

function actions() {
  return h(
    "div",
    { class: "form-actions wb-actions" },
    h("button", { type: "button", class: "button", id: "wb-skip-button", "data-action": "skip" }, "Skip ", h("kbd", { text: "k" })),
    h("button", { type: "submit", class: "button button-primary", id: "wb-submit" }, "Submit ", h("kbd", { text: "Ctrl+Enter" }))
  );
}

// The bar at the bottom of the task, always in view (sticky): the ranking (comparisons), what is
// still missing, the status line (dom.setStatus mirrors it here) and Submit.
export function dock(...parts) {
  return h(
    "div",
    { class: "wb-dock" },
    h("div", { class: "wb-dock-main" }, parts, h("p", { class: "wb-dock-missing", id: "wb-missing", hidden: true })),
    h("p", { class: "wb-dock-status muted small", "aria-hidden": "true" }),
    actions()
  );
}

export function candidateHead(i, headingTag, extra) {
  return h(
    "header",
    { class: "wb-cand-head" },
    h("span", { class: "wb-cand-num", "aria-hidden": "true", text: String(i + 1) }),
    h(headingTag, { id: "wb-cand-" + i + "-title", class: "wb-cand-title", text: "Answer " + (i + 1) }),
    extra
  );
}

function sourceCard(candidate, i) {
  return h(
    "article",
    { class: "wb-cand card", "data-index": i, tabindex: "-1", "aria-labelledby": "wb-cand-" + i + "-title" },
    candidateHead(
      i,
      "h4",
      h("button", {
        type: "button",
        class: "button button-small",
        "data-action": "start-from",
        "data-index": i,
        "aria-describedby": "wb-cand-" + i + "-title",
        text: "Start from this answer",
      })
    ),
    textBlock(candidate.content, candidate.html, "wb-answer-text", "Text of answer " + (i + 1))
  );
}

function sourcesSection(candidates) {
  return h(
    "section",
    { class: "wb-sources", "aria-labelledby": "wb-sources-title" },
    h(
      "h3",
      { id: "wb-sources-title", class: "wb-section-title" },
      "Model answers ",
      h("span", { class: "muted small", text: "start from one and fix it, or write your own" })
    ),
    h("div", { class: "wb-cands wb-cands-sources" }, candidates.map(sourceCard))
  );
}

export function renderDemonstration(task) {
  const candidates = task.candidates || [];
  const form = h("form", { id: "wb-form", class: "wb-form", novalidate: true, "aria-labelledby": "wb-task-title" });
  const fixNote = fixNotice(task);
  if (fixNote) form.append(fixNote);
  if (candidates.length) form.append(sourcesSection(candidates));
  els.sourceNote = h("div", { id: "wb-source-note", class: "wb-source-note", hidden: true });
  els.answer = h("textarea", {
    id: "wb-answer",
    name: "content",
    rows: "14",
    class: "wb-answer",
    dir: "auto",
    "aria-describedby": "wb-answer-help",
  });
  form.append(
    h(
      "div",
      { class: "field wb-answer-field" },
      h("label", { for: "wb-answer", text: "Your ideal answer" }),
      els.sourceNote,
      els.answer,
      h("p", { id: "wb-answer-help", class: "help", text: "The answer the assistant should have given. Ctrl+Enter submits; Esc leaves the box." }),
      h("p", { class: "field-error", "data-error-for": "content", hidden: true })
    ),
    dock()
  );
  if (fixNote) startFromFix(task);
  return form;
}

const REASON_TEXT = { lost: "it lost to the other answer", flagged: "it was flagged", unsafe: "it was judged unsafe", all_bad: "it was called bad" };

// A fix-it task (an evaluation condemned this answer): say why, and start from the answer.
function fixNotice(task) {
  const fix = task.fix;
  if (!fix || candidateIndex(fix.candidate) === -1) return null;
  const reasons = (fix.reasons || []).map((r) => REASON_TEXT[r] || String(r));
  const flags = (fix.flags || []).map(String);
  return h(
    "p",
    { class: "card card-warning wb-fix-note", id: "wb-fix-note", role: "note" },
    h("strong", { text: "Fix this answer: " }),
    (reasons.length ? reasons.join(", ") : "it was condemned in an evaluation") + (flags.length ? " (flags: " + flags.join(", ") + ")" : "") + ". Edit it into the ideal answer."
  );
}

function startFromFix(task) {
  const candidate = task.candidates[candidateIndex(task.fix.candidate)];
  els.answer.value = candidate.content;
  S.demoSource = candidate.id;
  updateSourceNote();
}

export function startFrom(i) {
  const candidate = S.task.candidates[i];
  if (!candidate || S.phase !== "editing") return;
  const previous = { text: els.answer.value, source: S.demoSource };
  els.answer.value = candidate.content;
  S.demoSource = candidate.id;
  S.undo = previous.text.trim() && previous.text !== candidate.content ? previous : null;
  updateSourceNote();
  els.answer.focus();
  els.answer.setSelectionRange(0, 0);
  els.answer.scrollTop = 0;
  formChanged();
}

export function clearSource() {
  S.undo = { text: els.answer.value, source: S.demoSource };
  els.answer.value = "";
  S.demoSource = null;
  updateSourceNote();
  els.answer.focus();
  formChanged();
}

export function undoSource() {
  if (!S.undo) return;
  els.answer.value = S.undo.text;
  S.demoSource = S.undo.source;
  S.undo = null;
  updateSourceNote();
  els.answer.focus();
  formChanged();
}

export function updateSourceNote() {
  const parts = [];
  if (S.demoSource !== null) {
    parts.push(h("span", { text: "Started from answer " + (candidateIndex(S.demoSource) + 1) + ": edit it into the ideal answer." }));
  } else if (S.undo) {
    parts.push(h("span", { text: "Cleared." }));
  }
  if (S.undo) parts.push(h("button", { type: "button", class: "button button-small button-ghost", "data-action": "undo-source", text: "Undo" }));
  if (S.demoSource !== null) {
    parts.push(h("button", { type: "button", class: "button button-small button-ghost", "data-action": "clear-source", text: "Start over from scratch" }));
  }
  els.sourceNote.replaceChildren(...parts);
  els.sourceNote.hidden = parts.length === 0;
}

export function applyDemonstrationDraft(draft) {
  if (typeof draft.content === "string") els.answer.value = draft.content;
  const i = draft.source_candidate === undefined || draft.source_candidate === null ? -1 : candidateIndex(draft.source_candidate);
  if (i !== -1) S.demoSource = S.task.candidates[i].id;
  updateSourceNote();
}
