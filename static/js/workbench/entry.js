// The entry cursor ("type-through"). A comparison's fields in order: the rank of answer 1…K (when
// the schema ranks), then each answer's questions of type scale, binary or choice in schema order
// (multi and text keep only their own keys), then the strength (K = 2, unless the two are tied).
// A bare digit fills the field under the cursor and moves on to the next empty one; Backspace
// steps back one field and clears it; a click, a question key or g+N moves the cursor. The key
// line (#wb-keys) always ends with what the next digit does.

import { config, els, S, setIdleKeys } from "./state.js";
import { fire, h, page, setKeys } from "./dom.js";
import { askedQuestions, digitsText, inputName, rankingOn, rationaleRules, strengthLevels, tiesOn } from "./schema.js";
import { answerByDigit, inputsNamed, radioValue, readAnswer, setRadio } from "./questions.js";
import { rankInput, rankOf, setRank } from "./ranking.js";

const WALKED = ["scale", "binary", "choice"];
const HINT_KEY = "labelhub.workbench.typethrough.";

// fields: [{kind: "rank" | "question" | "strength", i (answer index, -1 for the strength), q}].
// at: the cursor, an index into fields (fields.length: the walk is done).
const E = { fields: [], at: 0, quiet: false };

export function select(i, moveFocus) {
  if (!els.cards || !els.cards[i]) return false;
  S.selected = i;
  els.cards.forEach((card, j) => {
    card.classList.toggle("is-selected", j === i);
    card.setAttribute("aria-current", j === i ? "true" : "false");
  });
  if (moveFocus) {
    const target = S.task.kind === "demonstration" ? els.cards[i].querySelector("[data-action='start-from']") : els.cards[i];
    target.focus({ preventScroll: true });
    els.cards[i].scrollIntoView({ block: "nearest" });
  }
  return true;
}

function buildFields() {
  const fields = [];
  const count = S.task.candidates.length;
  if (rankingOn()) for (let i = 0; i < count; i++) fields.push({ kind: "rank", i, q: null });
  const questions = askedQuestions().filter((q) => WALKED.includes(q.type));
  for (let i = 0; i < count; i++) questions.forEach((q) => fields.push({ kind: "question", i, q }));
  if (strengthLevels().length) fields.push({ kind: "strength", i: -1, q: null });
  return fields;
}

function nameOf(f) {
  if (f.kind === "rank") return "rank-" + f.i;
  if (f.kind === "strength") return "strength";
  return inputName(f.q, f.i);
}

// The strength is asked only while the two answers are not tied and not "all bad".
function applies(f) {
  if (f.kind !== "strength") return true;
  if (els.allBad && els.allBad.checked) return false;
  const a = rankOf(0);
  return a === null || a !== rankOf(1);
}

function filled(f) {
  if (f.kind === "rank") return rankInput(f.i).value.trim() !== "";
  if (f.kind === "strength") return radioValue("strength") !== "";
  return readAnswer(f.q, f.i) !== undefined;
}

function isOpen(f) {
  return applies(f) && !filled(f);
}

// The first open field at or after `from`, else the first open one, else the end (done).
function seek(from) {
  const n = E.fields.length;
  for (let step = 0; step < n; step++) {
    const j = (from + step) % n;
    if (isOpen(E.fields[j])) return j;
  }
  return n;
}

function nodeOf(f) {
  if (f.kind === "rank") return rankInput(f.i).closest(".wb-rank");
  if (f.kind === "strength") return els.form.querySelector(".wb-strength");
  return els.cards[f.i].querySelector('.wb-question[data-question="' + CSS.escape(f.q.name) + '"]');
}

// keep: the selected answer stays (a question key's digit filled the last empty field of that answer).
function show(keep) {
  els.form.querySelectorAll(".is-cursor").forEach((node) => node.classList.remove("is-cursor"));
  const f = E.fields[E.at];
  if (!f) return;
  const node = nodeOf(f);
  if (node) {
    node.classList.add("is-cursor");
    node.scrollIntoView({ block: "nearest" });
  }
  if (f.i < 0 || keep) return;
  // Focus on another answer's card follows the cursor (so Tab and the arrows start from it).
  const active = document.activeElement;
  const moveFocus = S.selected !== f.i && active && active.classList.contains("wb-cand");
  select(f.i, false);
  if (moveFocus) els.cards[f.i].focus({ preventScroll: true });
}

function fieldName(f) {
  if (f.kind === "rank") return "Rank of answer " + (f.i + 1);
  if (f.kind === "strength") return "Preference strength";
  return "Answer " + (f.i + 1) + " · " + f.q.label;
}

function promptOf(f) {
  if (f.kind === "rank") return fieldName(f) + ": press 1–" + S.task.candidates.length;
  if (f.kind === "strength") return fieldName(f) + ": press 1–" + strengthLevels().length;
  return fieldName(f) + ": press " + digitsText(f.q);
}

// What is still to do when the digits are done: required multi / text questions, a required rationale.
function leftOver() {
  const left = [];
  askedQuestions()
    .filter((q) => q.required && !WALKED.includes(q.type))
    .forEach((q) => S.task.candidates.forEach((c, i) => {
      if (readAnswer(q, i) === undefined) left.push("answer " + (i + 1) + " · " + q.label + (q.key ? " (" + q.key + ")" : ""));
    }));
  if (rationaleRules().required && els.rationale && !els.rationale.value.trim()) left.push("the rationale (e)");
  return left;
}

// What the next digit does (the key line's tail).
export function nextText() {
  if (!S.task || S.task.kind !== "comparison" || !E.fields.length) return "";
  const f = E.fields[E.at];
  if (f) return promptOf(f);
  const left = leftOver();
  return left.length ? "Digits done; still to do: " + left.join(", ") + "; then Ctrl+Enter submits" : "All answered: Ctrl+Enter submits";
}

// The key line: what the key did, then what the next digit does.
export function say(did) {
  const next = nextText();
  if (!next) return setKeys(did || "");
  const joint = E.fields[E.at] ? " Now: " : " ";
  setKeys(did ? did + joint + next : next, true);
}

// Fill f with a digit: {ok, text, tens}. Out of range: not ok, nothing changes.
function fill(f, digit) {
  if (f.kind === "rank") {
    const count = S.task.candidates.length;
    if (digit < 1 || digit > count) return { text: "Ranks go from 1 to " + count + "." };
    // A tie where the schema allows none is taken but named (the server has the last word).
    const taken = tiesOn() ? -1 : S.task.candidates.findIndex((c, j) => j !== f.i && rankOf(j) === digit);
    setRank(f.i, digit);
    const warning = taken === -1 ? "." : " (answer " + (taken + 1) + " has it too: this project allows no ties).";
    return { ok: true, text: "Answer " + (f.i + 1) + ": rank " + digit + warning };
  }
  if (f.kind === "strength") {
    const levels = strengthLevels();
    const level = levels[digit - 1];
    if (!level) return { text: "Strength goes from 1 to " + levels.length + "." };
    setRadio("strength", level.name);
    return { ok: true, text: "Strength: " + level.label + "." };
  }
  return answerByDigit(f.q, f.i, digit);
}

function quietly(fn) {
  E.quiet = true;
  try {
    return fn();
  } finally {
    E.quiet = false;
  }
}

function fieldIndex(kind, i, name) {
  return E.fields.findIndex((f) => f.kind === kind && f.i === i && (!f.q || f.q.name === name));
}

// A scale that reaches 10 got a 1: a 0 right after makes it 10 (keyboard.js keeps the pending key).
function tensPending(f, text) {
  S.pending = "10:" + f.i + ":" + f.q.name;
  S.pendingTimer = setTimeout(() => {
    S.pending = null;
    say("");
  }, 1000);
  say(text);
}

// Fill field f (found or not in the walk) and, when it took the digit, move the cursor on: a bare
// digit to the next empty field; a named field's digit (random access) to the next empty field of
// the same answer, else to the next empty one without leaving the selected answer.
function fillAndMove(f, j, digit, named) {
  const outcome = quietly(() => fill(f, digit));
  if (!outcome.ok) return say(outcome.text);
  if (j !== -1) {
    const own = named ? E.fields.findIndex((g, k) => k > j && g.i === f.i && f.i >= 0 && isOpen(g)) : -1;
    E.at = own !== -1 ? own : seek(j + 1);
    show(named && own === -1);
  }
  if (outcome.tens) return tensPending(f, outcome.text);
  say(outcome.text);
}

// A bare digit: the field under the cursor.
export function typeDigit(digit) {
  const f = E.fields[E.at];
  if (!E.fields.length) return say("No field here takes a bare digit: use a question's key.");
  if (!f) return say("");
  fillAndMove(f, E.at, digit, false);
}

// A digit for a named field (r / Shift+digit, p, a question's key) of the selected answer.
export function typeInto(kind, i, q, digit) {
  const j = fieldIndex(kind, i, q ? q.name : "");
  fillAndMove(j === -1 ? { kind, i, q } : E.fields[j], j, digit, true);
}

// The cursor onto a named field (a question's key or r was pressed for answer i).
export function pointAt(kind, i, name) {
  const j = fieldIndex(kind, i, name);
  if (j === -1) return;
  E.at = j;
  show();
}

function clear(f) {
  if (f.kind === "rank") {
    rankInput(f.i).value = "";
    fire(rankInput(f.i), "input");
    return;
  }
  const inputs = inputsNamed(nameOf(f));
  inputs.forEach((input) => { input.checked = false; });
  if (inputs.length) fire(inputs[0], "change");
}

// Backspace: one field back, cleared.
export function back() {
  if (!E.fields.length) return say("Backspace steps back through the digits' fields; this task has none.");
  let j = Math.min(E.at, E.fields.length) - 1;
  while (j >= 0 && !applies(E.fields[j])) j--;
  if (j < 0) return say("Nothing before this field.");
  const f = E.fields[j];
  quietly(() => clear(f));
  E.at = j;
  show();
  say(fieldName(f) + " cleared.");
}

// g then N, ←/→, a click on a card: answer i is selected and the cursor goes to its first empty field.
export function goToAnswer(i, moveFocus) {
  if (!select(i, moveFocus)) return false;
  const j = E.fields.findIndex((f) => f.i === i && isOpen(f));
  if (j !== -1) {
    E.at = j;
    show();
  }
  return true;
}

// The mouse (or a typed rank box) filled or cleared a field: the cursor follows.
function onFormChange(event) {
  // A form being replaced can still report (a focused box's change on removal): only the task on screen counts.
  if (E.quiet || !event.target.name || event.currentTarget !== els.form || S.phase !== "editing") return;
  const before = E.at;
  const j = E.fields.findIndex((f) => nameOf(f) === event.target.name);
  if (j !== -1) E.at = filled(E.fields[j]) ? seek(j + 1) : j;
  else if (E.fields[E.at] && !applies(E.fields[E.at])) E.at = seek(E.at);
  else if (E.at === E.fields.length) E.at = seek(0);
  if (E.at !== before || j !== -1) show();
  say("");
}

function onFormClick(event) {
  const card = event.target.closest(".wb-cand");
  if (event.currentTarget !== els.form || S.phase !== "editing") return;
  if (!card || event.target.closest("input, label, button, textarea, a, fieldset, .wb-rank")) return;
  goToAnswer(Number(card.getAttribute("data-index")), false);
  say("Answer " + (S.selected + 1) + " selected.");
}

function presetSafety() {
  if (!S.task.needs_safety) return;
  S.task.candidates.forEach((c, i) => {
    if (!radioValue("safety-" + i)) setRadio("safety-" + i, "safe", true);
  });
}

function walkHelpRow() {
  const parts = [];
  if (rankingOn()) parts.push("the rank of answer 1…" + S.task.candidates.length);
  const names = askedQuestions().filter((q) => WALKED.includes(q.type)).map((q) => q.label);
  if (names.length) parts.push("per answer: " + names.join(", "));
  if (strengthLevels().length) parts.push("the preference strength");
  return h(
    "tr",
    { class: "wb-help-walk" },
    h("td", {}, h("kbd", { text: "0" }), "…", h("kbd", { text: "9" })),
    h("td", { text: "This task, in order: " + parts.join("; then ") + ". Backspace steps back." })
  );
}

function storage(fn) {
  try {
    return fn(window.localStorage);
  } catch (err) {
    return null; // storage disabled: the hint shows every time
  }
}

function showHint() {
  const hint = document.getElementById("wb-hint");
  if (!hint) return;
  hint.hidden = storage((store) => store.getItem(HINT_KEY + config.projectId)) === "seen";
}

export function dismissHint() {
  const hint = document.getElementById("wb-hint");
  if (hint) hint.hidden = true;
  storage((store) => store.setItem(HINT_KEY + config.projectId, "seen"));
}

// Called once a task is drawn (draft restored): build the walk and put the cursor on its first empty field.
export function startEntry() {
  E.fields = [];
  E.at = 0;
  if (!S.task || S.task.kind !== "comparison") {
    setIdleKeys(null);
    const hint = document.getElementById("wb-hint");
    if (hint) hint.hidden = true;
    return;
  }
  presetSafety();
  E.fields = buildFields();
  E.at = seek(0);
  els.form.addEventListener("change", onFormChange);
  els.form.addEventListener("input", onFormChange);
  els.form.addEventListener("click", onFormClick);
  if (page.helpRows && E.fields.length) page.helpRows.append(walkHelpRow());
  setIdleKeys(nextText);
  if (E.fields.length) showHint();
  show();
  say("");
}
