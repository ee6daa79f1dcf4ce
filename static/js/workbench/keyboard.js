// Keyboard shortcuts. onKeydown routes a key: the dialogs first, then Ctrl+Enter and Esc, then a
// digit (a pending key's value, Shift+digit a rank, alone: select answer N), then the letter keys
// of LETTERS (the fixed keys, rubric.RESERVED_KEYS) and the task's questions' keys.

import { cancelPending, els, PENDING_MS, S } from "./state.js";
import { fire, isTyping, page, setKeys } from "./dom.js";
import { askedQuestions, digitsText, inputName, questionByKey, questionNamed, rankingOn, strengthLevels } from "./schema.js";
import { answerByDigit, setRadio } from "./questions.js";
import { setRank } from "./ranking.js";
import { submit } from "./submit.js";
import { doSkip, openSkip, toggleHelp } from "./dialogs.js";
import { backToPrevious, hasPrevious } from "./previous.js";

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

// S.pending: "r" (rank), "p" (strength), "q:<question name>" waiting for a digit, or "10:<question name>"
// (a scale that reaches 10 just got a 1: a 0 now makes it 10).
function pendingText(key, n) {
  if (key === "r") return "Rank of answer " + n + ": press 1–" + S.task.candidates.length;
  if (key === "p") return "Preference strength: press 1–" + strengthLevels().length;
  const q = questionNamed(key.slice(2));
  return q.label + " of answer " + n + ": press " + digitsText(q);
}

function startPending(key) {
  cancelPending();
  S.pending = key;
  setKeys(pendingText(key, S.selected + 1) + " (Esc cancels)", true);
  S.pendingTimer = setTimeout(cancelPending, PENDING_MS);
}

function applyRank(i, digit) {
  const count = S.task.candidates.length;
  if (digit < 1 || digit > count) return setKeys("Ranks go from 1 to " + count + ".");
  setRank(i, digit);
  setKeys("Answer " + (i + 1) + ": rank " + digit + ".");
}

function applyStrength(digit) {
  const levels = strengthLevels();
  const level = levels[digit - 1];
  if (!level) return setKeys("Strength goes from 1 to " + levels.length + ".");
  setRadio("strength", level.name);
  setKeys("Strength: " + level.label + ".");
}

function applyQuestion(q, i, digit) {
  const outcome = answerByDigit(q, i, digit);
  if (!outcome.tens) return setKeys(outcome.text);
  // A scale up to 10: a 0 right after the 1 makes it 10.
  S.pending = "10:" + q.name;
  S.pendingTimer = setTimeout(cancelPending, PENDING_MS / 4);
  setKeys(outcome.text, true);
}

function applyPending(digit) {
  const key = S.pending;
  const i = S.selected;
  cancelPending();
  if (key === "r") return applyRank(i, digit);
  if (key === "p") return applyStrength(digit);
  if (key.startsWith("10:")) {
    const q = questionNamed(key.slice(3));
    setRadio(inputName(q, i), 10); // "1" then "0" on a scale that reaches 10
    return setKeys("Answer " + (i + 1) + ": " + q.label + " 10.");
  }
  if (key) applyQuestion(questionNamed(key.slice(2)), i, digit);
}

function needSelection() {
  if (S.selected >= 0) return true;
  setKeys("Select an answer first: press 1–" + S.task.candidates.length + ".");
  return false;
}

// A question's key: a digit follows, or (text questions) the cursor goes to its box.
function questionKey(q) {
  if (!needSelection()) return;
  if (q.type !== "text") return startPending("q:" + q.name);
  const box = els.form.elements[inputName(q, S.selected)];
  if (box) box.focus();
}

function selectedHint(n) {
  const parts = rankingOn() ? ["r rank"] : [];
  askedQuestions().forEach((q) => parts.push(q.key + " " + q.label));
  if (S.task.needs_safety) parts.push("s/u safety");
  return "Answer " + n + " selected" + (parts.length ? ": " + parts.join(" · ") : "") + ".";
}

// -1 when the key is not a digit.
function digitOf(event) {
  const match = /^(?:Digit|Numpad)([0-9])$/.exec(event.code || "");
  if (match) return Number(match[1]);
  return /^[0-9]$/.test(event.key) ? Number(event.key) : -1;
}

function focusText() {
  const target = S.task.kind === "demonstration" ? els.answer : els.rationale;
  target.focus();
}

function onEscape(event) {
  if (S.pending) {
    cancelPending();
    event.preventDefault();
    return;
  }
  const active = document.activeElement;
  const title = document.getElementById("wb-task-title");
  if (!active || !page.root.contains(active) || active === title) return;
  const card = active.closest(".wb-cand");
  if (card && card !== active) card.focus({ preventScroll: true });
  else if (!card && title) title.focus({ preventScroll: true });
}

function safetyKey(key) {
  if (!S.task.needs_safety) return setKeys("This task needs no safety verdict.");
  if (!needSelection()) return;
  const verdict = key === "s" ? "safe" : "unsafe";
  setRadio("safety-" + S.selected, verdict);
  setKeys("Answer " + (S.selected + 1) + ": " + verdict + ".");
}

// The letter keys: kinds says which tasks a key works on.
const LETTERS = {
  k: { kinds: ["demonstration", "comparison"], run: () => openSkip() },
  e: { kinds: ["demonstration", "comparison"], run: () => focusText() },
  r: {
    kinds: ["comparison"],
    run: () => {
      if (!rankingOn()) setKeys("This project asks for no ranking.");
      else if (needSelection()) startPending("r");
    },
  },
  p: {
    kinds: ["comparison"],
    run: () => {
      if (strengthLevels().length) startPending("p");
      else setKeys(S.task.candidates.length === 2 ? "This project asks no preference strength." : "Preference strength is only for two answers.");
    },
  },
  s: { kinds: ["comparison"], run: () => safetyKey("s") },
  u: { kinds: ["comparison"], run: () => safetyKey("u") },
  b: {
    kinds: ["comparison"],
    run: () => {
      if (!els.allBad) return setKeys("This project has no “all answers are bad”.");
      els.allBad.checked = !els.allBad.checked;
      fire(els.allBad, "change");
      setKeys(els.allBad.checked ? "Marked: all answers are bad." : "Unmarked: all answers are bad.");
    },
  },
};

// k and e first; then on a comparison its questions' keys, then the other fixed keys.
function letterKey(event, key) {
  const comparison = S.task.kind === "comparison";
  const q = comparison && key !== "k" && key !== "e" ? questionByKey(key) : null;
  if (q) {
    event.preventDefault();
    questionKey(q);
    return;
  }
  const letter = Object.hasOwn(LETTERS, key) ? LETTERS[key] : null;
  if (!letter || !letter.kinds.includes(S.task.kind)) return;
  event.preventDefault();
  letter.run();
}

// Digits: with Shift, the rank; alone, select answer N.
function digitKey(event, digit) {
  const comparison = S.task.kind === "comparison";
  if (event.shiftKey) {
    if (!comparison || !rankingOn() || !needSelection()) return;
    event.preventDefault();
    S.pending = "r";
    applyPending(digit);
    return;
  }
  event.preventDefault();
  if (!select(digit - 1, true)) setKeys("There is no answer " + digit + ".");
  else if (comparison) setKeys(selectedHint(digit));
}

// A pending key takes the digit (after "1" on a 10-point scale only a 0); any other key cancels it.
function pendingKey(event, digit) {
  const tens = S.pending.startsWith("10:");
  if (digit !== -1 && !event.shiftKey && (!tens || digit === 0)) {
    event.preventDefault();
    applyPending(digit);
    return true;
  }
  cancelPending();
  return false;
}

// While a dialog is open only its own keys count. True: the key was the dialog's.
function dialogKey(event, submitKey) {
  if (page.skipDialog.open) {
    if (submitKey) {
      event.preventDefault();
      doSkip();
    }
    return true; // Esc closes the dialog natively
  }
  if (page.helpDialog.open) {
    if (event.key === "?") {
      event.preventDefault();
      toggleHelp();
    }
    return true;
  }
  return false;
}

function taskKey(event) {
  if (!S.task || S.phase !== "editing" || event.key === "Shift") return;
  const digit = digitOf(event);
  if (S.pending && pendingKey(event, digit)) return;
  if (digit !== -1) return digitKey(event, digit);
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if (event.key !== key && event.shiftKey && event.key.length === 1) return; // Shift+letter: not ours
  letterKey(event, key);
}

export function onKeydown(event) {
  if (event.isComposing || event.defaultPrevented) return;
  const submitKey = (event.ctrlKey || event.metaKey) && event.key === "Enter";
  if (dialogKey(event, submitKey)) return;
  if (submitKey) {
    event.preventDefault();
    submit();
    return;
  }
  if (event.key === "Escape") return onEscape(event);
  if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
  if (event.key === "?") {
    event.preventDefault();
    toggleHelp();
    return;
  }
  if (event.key === "[" && hasPrevious()) {
    event.preventDefault();
    backToPrevious();
    return;
  }
  taskKey(event);
}
