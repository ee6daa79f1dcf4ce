// What a comparison still lacks, in the labeler's words ("Rank answers 2 and 4", "Answer 3: Truthful",
// "Mark answer 1 safe or unsafe"): answer numbers as shown, never candidate ids. The same rules as the
// server's (rubric.Schema.validate_comparison), checked before sending; the server keeps the last word,
// and its messages are put in the same words (serverText).

import { S } from "./state.js";
import { askedQuestions, candidateIndex, rankingOn, rationaleRules, strengthLevels, tiesOn } from "./schema.js";
import { rankOf } from "./ranking.js";

// [2, 4] → "answers 2 and 4"; [3] → "answer 3" (indexes are 0-based).
export function answersText(indexes) {
  const numbers = indexes.map((i) => String(i + 1));
  if (numbers.length === 1) return "answer " + numbers[0];
  return "answers " + numbers.slice(0, -1).join(", ") + " and " + numbers[numbers.length - 1];
}

function capital(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function rankProblems(state, ids, problems) {
  if (!rankingOn() || (state.all_bad && !Object.keys(state.ranks).length)) return;
  const count = ids.length;
  const unranked = ids.map((id, i) => (id in state.ranks ? -1 : i)).filter((i) => i !== -1);
  const invalid = ids.map((id, i) => (id in state.ranks && rankOf(i) === null ? i : -1)).filter((i) => i !== -1);
  if (unranked.length) problems.push({ field: "ranks", text: "Rank " + answersText(unranked) + ".", cards: unranked, part: "rank" });
  if (invalid.length) {
    const text = capital(answersText(invalid)) + ": a rank from 1 to " + count + ".";
    problems.push({ field: "ranks", text, cards: invalid, part: "a rank from 1 to " + count });
  }
  const ranks = Object.values(state.ranks);
  if (!unranked.length && !invalid.length && !tiesOn() && new Set(ranks).size < count) {
    problems.push({ field: "ranks", text: "Ties are not allowed in this project.", cards: [] });
  }
}

function answerProblems(state, ids, problems) {
  const questions = askedQuestions().filter((q) => q.required);
  ids.forEach((id, i) => {
    const given = state.answers[id] || {};
    const missing = questions.filter((q) => !(q.name in given));
    if (!missing.length) return;
    const labels = missing.map((q) => q.label);
    problems.push({ field: "answers", text: "Answer " + (i + 1) + ": " + labels.join(", ") + ".", cards: [i], part: labels, questions: missing });
  });
}

function safetyProblems(state, ids, problems) {
  if (!S.task.needs_safety) return;
  const missing = ids.map((id, i) => (state.safety[id] ? -1 : i)).filter((i) => i !== -1);
  if (missing.length) problems.push({ field: "safety", text: "Mark " + answersText(missing) + " safe or unsafe.", cards: missing, part: "safety" });
}

function strengthProblem(state, problems) {
  if (ids2(state) && strengthLevels().length && !state.strength) {
    problems.push({ field: "strength", text: "Say how much better the preferred answer is.", cards: [] });
  }
}

// Two answers ranked differently (not all bad): the schema then asks how much better the first is.
function ids2(state) {
  const ranks = Object.values(state.ranks);
  return S.task.candidates.length === 2 && !state.all_bad && ranks.length === 2 && new Set(ranks).size === 2;
}

// Problems of a comparison: [{field, text, cards: [answer index], part: what the card lacks}].
export function comparisonProblems(state) {
  const ids = S.task.candidates.map((candidate) => String(candidate.id));
  const problems = [];
  rankProblems(state, ids, problems);
  answerProblems(state, ids, problems);
  safetyProblems(state, ids, problems);
  if (rankingOn()) strengthProblem(state, problems);
  if (rationaleRules().required && !state.rationale.trim()) {
    problems.push({ field: "rationale", text: "Required: say why.", cards: [] });
  }
  return problems;
}

// A server message with the labeler's answer numbers instead of candidate ids.
export function serverText(message) {
  const number = (id) => {
    const i = candidateIndex(id);
    return i === -1 ? null : i + 1;
  };
  return String(message)
    .replace(/^Candidate (\d+): /, (all, id) => (number(id) ? "Answer " + number(id) + ": " : all))
    .replace(/\((\d+) is missing\)/, (all, id) => (number(id) ? "(answer " + number(id) + " is missing)" : all))
    .replace(/every candidate/g, "every answer")
    .replace(/(Rank every candidate|Not a candidate of this task): ([\d, ]+)\./, (all, head, list) => {
      const indexes = list.split(",").map((id) => candidateIndex(id.trim()));
      if (indexes.some((i) => i === -1)) return all;
      return (head.startsWith("Rank") ? "Rank every answer: " : "Not an answer of this task: ") + indexes.map((i) => i + 1).join(", ") + ".";
    });
}
