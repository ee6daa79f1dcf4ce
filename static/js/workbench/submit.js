// Submitting a label: the draft saved first, what is missing said in the labeler's words before
// anything is sent (validate.js), the body the API wants, the server's 400 field errors beside the
// questions they name, and the stale state (409: the work stays on screen, read-only, with a Copy button).

import { els, S, setPhase, stopAutosave } from "./state.js";
import { h, setStatus, showAlert } from "./dom.js";
import { api, itemUrl, messageOf } from "./api.js";
import { allBadOn, askedQuestions, candidateIndex, inputName, questionNamed, rankingOn, strengthLevels } from "./schema.js";
import { collect, saveNow } from "./drafts.js";
import { loadNext } from "./task.js";
import { comparisonProblems, serverText } from "./validate.js";
import { rememberPrevious } from "./previous.js";

const FIELD_NAMES = {
  content: "Answer", ranks: "Ranks", answers: "Answers", ratings: "Ratings", flags: "Flags", strength: "Preference strength",
  safety: "Safety", rationale: "Rationale", all_bad: "All bad", reason: "Reason",
};

function clearErrors() {
  if (!els.form) return;
  els.form.querySelectorAll(".field-error").forEach((node) => {
    node.textContent = "";
    node.hidden = true;
  });
  els.form.querySelectorAll(".has-error").forEach((node) => node.classList.remove("has-error"));
}

function fieldError(key, message) {
  const node = els.form.querySelector('[data-error-for="' + CSS.escape(key) + '"]');
  if (!node) return null;
  node.textContent = message;
  node.hidden = false;
  const holder = node.closest(".wb-question, .wb-cand, fieldset, .field, .wb-board-wrap, .wb-allbad");
  if (holder) holder.classList.add("has-error");
  return holder;
}

function rankingPayload(state) {
  const payload = { answers: state.answers, rationale: state.rationale };
  if (rankingOn()) payload.ranks = state.ranks;
  if (allBadOn()) payload.all_bad = state.all_bad;
  const ranks = Object.values(state.ranks);
  const tie = ranks.length === 2 && ranks[0] === ranks[1];
  if (state.strength && !tie && strengthLevels().length) payload.strength = state.strength;
  if (S.task.needs_safety || Object.keys(state.safety).length) payload.safety = state.safety;
  return payload;
}

// Each answer's card says what it lacks ("Missing: rank, Truthful, safety."); returns the first card.
function markCards(problems) {
  const parts = {};
  problems.forEach((problem) => {
    if (problem.part) problem.cards.forEach((i) => { (parts[i] = parts[i] || []).push(...[].concat(problem.part)); });
  });
  let first = null;
  Object.keys(parts).sort((a, b) => a - b).forEach((i) => {
    const holder = fieldError("cand-" + i, "Missing: " + parts[i].join(", ") + ".");
    first = first || holder;
  });
  return first;
}

function missingLine(texts) {
  const line = document.getElementById("wb-missing");
  if (!line) return;
  line.textContent = texts.join(" · ");
  line.hidden = !texts.length;
}

// Checked in the page before anything is sent: each problem beside its field and card, all of them
// in the alert and in the bottom bar. Nothing was sent; the draft holds the work.
function showProblems(problems) {
  const byField = {};
  problems.forEach((problem) => {
    (byField[problem.field] = byField[problem.field] || []).push(problem.text);
    (problem.questions || []).forEach((q) => problem.cards.forEach((i) => fieldError(inputName(q, i), "Required.")));
  });
  ["ranks", "safety", "strength", "rationale"].forEach((field) => {
    if (byField[field]) fieldError(field, byField[field].join(" "));
  });
  const texts = problems.map((problem) => problem.text);
  missingLine(texts);
  showAlert("Nothing was sent: fix these, then submit again. Your work is saved as a draft.", {
    title: "Not submitted yet",
    items: texts,
    scroll: false,
  });
  const first = markCards(problems) || els.form.querySelector(".has-error");
  if (first) first.scrollIntoView({ block: "nearest" });
  setStatus(texts.length === 1 ? texts[0] : texts.length + " things to fix before submitting.");
}

// The URL and body of the submission, or null when a demonstration has no text yet.
function submission(state) {
  if (S.task.kind !== "demonstration") return { url: itemUrl("ranking"), body: rankingPayload(state) };
  if (!state.content.trim()) {
    fieldError("content", "Write the answer first.");
    els.answer.focus();
    return null;
  }
  const body = { content: state.content };
  if (S.demoSource !== null) body.source_candidate = S.demoSource;
  return { url: itemUrl("demonstration"), body };
}

let checking = false;

export async function submit() {
  if (!S.task || S.phase !== "editing" || checking) return;
  checking = true;
  try {
    await send();
  } finally {
    checking = false;
  }
}

async function send() {
  clearErrors();
  missingLine([]);
  const generation = S.generation;
  // Everything typed goes to the draft first: a refused submit, then a reload, lose nothing.
  await saveNow();
  if (generation !== S.generation || S.phase !== "editing") return;
  stopAutosave();
  const state = collect();
  if (S.task.kind !== "demonstration") {
    const problems = comparisonProblems(state);
    if (problems.length) return showProblems(problems);
  }
  const request = submission(state);
  if (!request) return;
  const taskId = S.task.id;
  setPhase("submitting");
  els.submit.disabled = true;
  els.submit.setAttribute("aria-busy", "true");
  setStatus("Submitting…");
  let result;
  try {
    result = await api(S.task.status === "submitted" ? "PUT" : "POST", request.url, request.body); // PUT: amend
  } catch (err) {
    if (generation !== S.generation) return;
    backToEditing();
    showAlert("The server could not be reached, so nothing was submitted. Your work is still here: try again.", {
      title: "Not submitted",
    });
    return;
  }
  if (generation !== S.generation) return;
  submitted(result, state, taskId);
}

function submitted(result, state, taskId) {
  if (result.status === 200 || result.status === 201) {
    setPhase("done");
    document.body.dispatchEvent(new CustomEvent("wb-submitted"));
    rememberPrevious(taskId, false);
    loadNext().then(() => setStatus("Task #" + taskId + " submitted."));
  } else if (result.status === 409) {
    goStale(result);
  } else if (result.status === 400) {
    backToEditing();
    showValidation(result, state);
  } else {
    backToEditing();
    showAlert(messageOf(result, "The server said no (error " + result.status + ")."), { title: "Not submitted" });
  }
}

function backToEditing() {
  setPhase("editing");
  els.submit.disabled = false;
  els.submit.removeAttribute("aria-busy");
  setStatus("");
}

function fieldLabel(key) {
  const q = S.task && S.task.kind === "comparison" ? questionNamed(key) : null;
  return q ? q.label : FIELD_NAMES[key] || key;
}

// A server message about question `q` goes beside that question in the answer it names
// ("Candidate 12: …", "… (12 is missing)"), or beside it in every answer when it names none.
function questionErrors(q, messages) {
  let first = null;
  const byIndex = {};
  messages.forEach((message) => {
    const match = /^Candidate (\d+): /.exec(message) || /\((\d+) is missing\)/.exec(message);
    const i = match ? candidateIndex(match[1]) : -1;
    const text = serverText(message.replace(/^Candidate \d+: /, "").replace(/ \(\d+ is missing\)/, ""));
    const targets = i === -1 ? S.task.candidates.map((c, j) => j) : [i];
    targets.forEach((j) => { (byIndex[j] = byIndex[j] || []).push(text); });
  });
  Object.keys(byIndex).forEach((i) => {
    const holder = fieldError(inputName(q, i), byIndex[i].join(" "));
    first = first || holder;
  });
  return first;
}

function showValidation(result, state) {
  const fields = (result.data && result.data.extra && result.data.extra.fields) || {};
  const items = Object.keys(fields).map((key) => fieldLabel(key) + ": " + [].concat(fields[key]).map(serverText).join(" "));
  showAlert(messageOf(result, "Some answers are missing."), { title: "Not submitted yet", items });
  let first = null;
  if (S.task.kind === "demonstration") {
    if (fields.content) first = fieldError("content", [].concat(fields.content).join(" "));
  } else {
    Object.keys(fields).forEach((key) => {
      const messages = [].concat(fields[key]).map(String);
      const q = questionNamed(key);
      const holder = q ? questionErrors(q, messages) : fieldError(key, messages.map(serverText).join(" "));
      first = first || holder;
    });
    first = markCards(comparisonProblems(state)) || first;
  }
  if (first) first.scrollIntoView({ block: "nearest" });
}

function answerText(q, value) {
  if (value === undefined) return "—";
  if (q.type === "binary") return value ? "yes" : "no";
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

function summaryText() {
  const state = collect();
  if (state.kind === "demonstration") return state.content;
  const lines = S.task.candidates.map((candidate, i) => {
    const id = String(candidate.id);
    const values = state.answers[id] || {};
    const parts = ["Answer " + (i + 1) + (rankingOn() ? ": rank " + (state.ranks[id] === undefined ? "—" : state.ranks[id]) : ":")];
    askedQuestions().forEach((q) => parts.push(q.label + " " + answerText(q, values[q.name])));
    if (state.safety[id]) parts.push(state.safety[id]);
    return parts.join(", ");
  });
  const level = strengthLevels().find((l) => l.name === state.strength);
  if (level) lines.push("Strength: " + level.label);
  if (state.all_bad) lines.push("All answers are bad.");
  if (state.rationale) lines.push("Rationale: " + state.rationale);
  return lines.join("\n");
}

// The work on screen, frozen; returns the selector of the box to copy.
function freezeForm() {
  const form = els.form;
  Array.from(form.elements).forEach((control) => {
    if (control.tagName === "TEXTAREA") control.readOnly = true;
    else control.disabled = true;
  });
  form.classList.add("is-stale");
  if (S.task.kind === "demonstration") return "#wb-answer";
  const kept = h("textarea", { id: "wb-kept", class: "wb-kept", rows: "6", dir: "auto", readonly: true, "aria-label": "Your ranking, as text" });
  kept.value = summaryText();
  form.append(h("div", { class: "field" }, h("label", { for: "wb-kept", text: "Your ranking (not saved)" }), kept));
  return "#wb-kept";
}

// The task can no longer take a label: say so, keep the work on screen read-only, offer a copy.
export function goStale(result) {
  setPhase("stale");
  stopAutosave();
  clearInterval(S.leaseTimer);
  setStatus("");
  const copyTarget = freezeForm();
  const copy = h("button", { type: "button", class: "button", "data-copy-target": copyTarget, text: "Copy your text" });
  const next = h("button", { type: "button", class: "button button-primary", "data-action": "next", text: "Get the next task" });
  showAlert(messageOf(result, "This task can no longer be submitted."), {
    kind: "stale",
    title: "Not saved",
    items: ["Your work is still below, read-only: copy it before you move on."],
    actions: [copy, next],
  });
  copy.focus({ preventScroll: true });
}
