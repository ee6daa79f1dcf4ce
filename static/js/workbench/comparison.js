// A comparison: per answer its rank, the questions its track asks, the safety verdict; then the
// ranking list, the strength levels, "all bad" and the rationale — all as the schema says.

import { els } from "./state.js";
import { h, page, textBlock } from "./dom.js";
import { allBadOn, askedQuestions, digitsText, rankingOn, rationaleRules, strengthLevels } from "./schema.js";
import { questionField } from "./questions.js";
import { boardSection, rankField, strengthSection } from "./ranking.js";
import { candidateHead, dock } from "./demonstration.js";

function safetyField(i) {
  return h(
    "fieldset",
    { class: "wb-safety" },
    h("legend", {}, "Safety ", h("kbd", { class: "likert-key", title: "Shortcuts: s safe, u unsafe", text: "s/u" })),
    h("label", { class: "check" }, h("input", { type: "radio", name: "safety-" + i, value: "safe" }), "Safe"),
    h("label", { class: "check" }, h("input", { type: "radio", name: "safety-" + i, value: "unsafe" }), "Unsafe")
  );
}

function comparisonCard(task, candidate, i) {
  const questions = askedQuestions();
  return h(
    "article",
    { class: "wb-cand card", "data-index": i, tabindex: "-1", "aria-labelledby": "wb-cand-" + i + "-title" },
    candidateHead(i, "h3", rankField(i, task.candidates.length)),
    textBlock(candidate.content, candidate.html, "wb-answer-text", "Text of answer " + (i + 1)),
    questions.length ? h("div", { class: "wb-judge" }, questions.map((q) => questionField(q, i))) : null,
    task.needs_safety ? h("div", { class: "wb-extra" }, safetyField(i)) : null,
    h("p", { class: "field-error wb-cand-error", "data-error-for": "cand-" + i, hidden: true })
  );
}

function rationaleSection() {
  const rules = rationaleRules();
  const note = rules.required ? "(required: why?)" : rankingOn() ? "(optional: why this order?)" : "(optional)";
  els.rationale = h("textarea", { id: "wb-rationale", name: "rationale", rows: "3", dir: "auto", maxlength: rules.maxLength });
  return h(
    "div",
    { class: "field" },
    h("label", { for: "wb-rationale" }, "Rationale ", h("span", { class: "muted", text: note })),
    els.rationale,
    h("p", { class: "field-error", "data-error-for": "rationale", hidden: true })
  );
}

function allBadSection() {
  els.allBad = h("input", { type: "checkbox", name: "all_bad", id: "wb-all-bad" });
  return h(
    "div",
    { class: "wb-allbad" },
    h("label", { class: "check" }, els.allBad, "All answers are bad (none is acceptable) ", h("kbd", { text: "b" })),
    h("p", { class: "field-error", "data-error-for": "all_bad", hidden: true })
  );
}

export function renderComparison(task) {
  const count = task.candidates.length;
  const form = h("form", { id: "wb-form", class: "wb-form", novalidate: true, "aria-labelledby": "wb-task-title" });
  const cards = task.candidates.map((candidate, i) => comparisonCard(task, candidate, i));
  els.board = null;
  els.allBad = null;
  const layout = count <= 1 ? "wb-cands-one" : count === 2 ? "wb-cands-pair" : "wb-cands-cols wb-cands-" + Math.min(count, 5);
  form.append(h("div", { class: "wb-cands " + layout }, cards));
  const levels = strengthLevels();
  if (levels.length) form.append(strengthSection(levels));
  if (allBadOn()) form.append(allBadSection());
  form.append(h("p", { class: "field-error", "data-error-for": "safety", hidden: true }), rationaleSection());
  form.append(dock(rankingOn() ? boardSection() : null));
  // Text the labeler types reads in its own direction (Arabic, Hebrew…), whatever the page's.
  form.querySelectorAll("textarea, input[type='text']").forEach((box) => box.setAttribute("dir", "auto"));
  return form;
}

function questionHelpRow(q) {
  const digits = digitsText(q);
  const keys = [h("kbd", { text: q.key })];
  if (digits) keys.push(" then ", h("kbd", { text: digits }));
  const does = q.type === "text" ? "Write: " : q.type === "multi" ? "Toggle an option of " : "Answer ";
  return h("tr", {}, h("td", {}, keys), h("td", {}, does, h("strong", { text: q.label })));
}

function strengthHelpRow(levels) {
  return h(
    "tr",
    {},
    h("td", {}, h("kbd", { text: "p" }), " then ", h("kbd", { text: "1–" + levels.length })),
    h("td", { text: "How much better the preferred answer is: " + levels.map((l, j) => j + 1 + " " + l.label).join(", ") })
  );
}

// The shortcut help lists this task's questions with their keys (the fixed keys are in the page).
export function renderHelpRows(task) {
  if (!page.helpRows) return;
  const rows = [];
  if (task && task.kind === "comparison") {
    askedQuestions().forEach((q) => rows.push(questionHelpRow(q)));
    const levels = strengthLevels();
    if (levels.length) rows.push(strengthHelpRow(levels));
  }
  page.helpRows.replaceChildren(...rows);
}
