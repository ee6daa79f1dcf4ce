// Drafts: what the form holds (collect), autosave ~1 s after the last change, and restoring a
// comparison's saved draft when the task comes back (a demonstration's: demonstration.js).

import { els, S, SAVE_DELAY_MS, stopAutosave } from "./state.js";
import { clock, setStatus, showAlert } from "./dom.js";
import { api, itemUrl, messageOf } from "./api.js";
import { askedQuestions, candidateIndex, rankingOn } from "./schema.js";
import { radioValue, readAnswer, setRadio, writeAnswer } from "./questions.js";
import { rankInput } from "./ranking.js";

function collectCandidate(state, candidate, i, questions) {
  const id = String(candidate.id);
  const raw = rankingOn() ? rankInput(i).value.trim() : "";
  if (raw !== "") {
    const rank = Number(raw);
    state.ranks[id] = Number.isInteger(rank) ? rank : raw;
  }
  const values = {};
  questions.forEach((q) => {
    const value = readAnswer(q, i);
    if (value !== undefined) values[q.name] = value;
  });
  if (Object.keys(values).length) state.answers[id] = values;
  const verdict = radioValue("safety-" + i);
  if (verdict) state.safety[id] = verdict;
}

export function collect() {
  if (!S.task || !els.form) return null;
  if (S.task.kind === "demonstration") {
    return { kind: "demonstration", content: els.answer.value, source_candidate: S.demoSource };
  }
  const state = { kind: "comparison", ranks: {}, answers: {}, safety: {}, strength: "", all_bad: false, rationale: "" };
  const questions = askedQuestions();
  S.task.candidates.forEach((candidate, i) => collectCandidate(state, candidate, i, questions));
  state.strength = radioValue("strength");
  state.all_bad = !!(els.allBad && els.allBad.checked);
  state.rationale = els.rationale.value;
  return state;
}

export function changed() {
  if (S.phase !== "editing" || !S.autosave) return;
  clearTimeout(S.saveTimer);
  S.saveTimer = setTimeout(saveDraft, SAVE_DELAY_MS);
}

function draftRefused(result) {
  if (result.status !== 409) {
    setStatus("Draft not saved: " + messageOf(result, "error " + result.status) + ".");
    return;
  }
  S.autosave = false;
  setStatus("");
  showAlert(messageOf(result, "This task is no longer open.") + " Autosave stopped; you can still try to submit.", {
    kind: "info",
    scroll: false,
  });
}

async function saveDraft(keepalive) {
  S.saveTimer = null;
  if (S.phase !== "editing" || !S.autosave || !S.task) return;
  const state = collect();
  const snapshot = JSON.stringify(state);
  if (snapshot === S.lastSaved) return;
  const generation = S.generation;
  setStatus("Saving draft…");
  let result;
  try {
    result = await api("PUT", itemUrl("draft"), state, keepalive === true);
  } catch (err) {
    if (generation === S.generation) setStatus("Draft not saved (offline?). Your work is still here.");
    return;
  }
  if (generation !== S.generation || S.phase !== "editing") return; // submitted or moved on meanwhile
  if (result.ok) {
    S.lastSaved = snapshot;
    setStatus("Draft saved " + clock(new Date()) + ".");
  } else {
    draftRefused(result);
  }
}

// Leaving the page: a pending autosave goes out now (keepalive lets it outlive the page).
export function flushDraft() {
  if (!S.saveTimer) return;
  stopAutosave();
  saveDraft(true);
}

// Before a submit: the form as it is now goes to the draft (skipped when nothing changed).
export function saveNow() {
  stopAutosave();
  return saveDraft(false);
}

export function markSaved() {
  S.lastSaved = JSON.stringify(collect());
}

function eachCandidate(object, fn) {
  if (!object || typeof object !== "object") return;
  Object.keys(object).forEach((id) => {
    const i = candidateIndex(id);
    if (i !== -1) fn(i, object[id]);
  });
}

function restoreAnswers(i, values) {
  if (!values || typeof values !== "object") return;
  askedQuestions().forEach((q) => {
    if (q.name in values) writeAnswer(q, i, values[q.name]);
  });
}

export function applyComparisonDraft(draft) {
  if (rankingOn()) {
    eachCandidate(draft.ranks, (i, rank) => {
      if (rank !== null && rank !== undefined) rankInput(i).value = String(rank);
    });
  }
  // `answers` ({id: {question: value}}); drafts saved before schemas kept `ratings` and `flags`.
  eachCandidate(draft.ratings, restoreAnswers);
  eachCandidate(draft.flags, (i, list) => restoreAnswers(i, { flags: list }));
  eachCandidate(draft.answers, restoreAnswers);
  eachCandidate(draft.safety, (i, verdict) => setRadio("safety-" + i, verdict, true));
  if (typeof draft.strength === "string" && els.form.elements.strength) setRadio("strength", draft.strength, true);
  if (els.allBad) els.allBad.checked = draft.all_bad === true;
  if (typeof draft.rationale === "string") els.rationale.value = draft.rationale;
}
