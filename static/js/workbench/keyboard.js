// Keyboard shortcuts. onKeydown routes a key: the dialogs first, then Ctrl+Enter and Esc, then a
// digit (a pending key's value, Shift+digit a rank, alone: the field under the entry cursor on a
// comparison, model answer N on a demonstration), Backspace and ←/→, then the letter keys of LETTERS
// (the fixed keys, rubric.RESERVED_KEYS, and g) and the task's questions' keys. entry.js: the cursor.

import { cancelPending, els, PENDING_MS, S } from "./state.js";
import { fire, isTyping, page, setKeys } from "./dom.js";
import { askedQuestions, digitsText, inputName, questionByKey, questionNamed, rankingOn, strengthLevels } from "./schema.js";
import { radioValue, setRadio } from "./questions.js";
import { back, goToAnswer, pointAt, say, select, typeDigit, typeInto } from "./entry.js";
import { submit } from "./submit.js";
import { doSkip, openSkip, toggleHelp } from "./dialogs.js";
import { backToPrevious, hasPrevious } from "./previous.js";

export { select };

// S.pending: "r" (rank), "p" (strength), "g" (go to answer), "q:<question name>" waiting for a digit,
// or "10:<answer index>:<question name>" (a scale that reaches 10 just got a 1: a 0 now makes it 10).
function pendingText(key, n) {
  const count = S.task.candidates.length;
  if (key === "g") return "Go to answer: press 1–" + count;
  if (key === "r") return "Rank of answer " + n + ": press 1–" + count;
  if (key === "p") return "Preference strength: press 1–" + strengthLevels().length;
  const q = questionNamed(key.slice(2));
  return "Answer " + n + " · " + q.label + ": press " + digitsText(q);
}

function startPending(key) {
  cancelPending();
  S.pending = key;
  setKeys(pendingText(key, S.selected + 1) + " (Esc cancels)", true);
  S.pendingTimer = setTimeout(cancelPending, PENDING_MS);
}

function goTo(i) {
  if (!goToAnswer(i, true)) return say("There is no answer " + (i + 1) + ".");
  say(S.task.kind === "comparison" ? selectedHint(i + 1) : "Answer " + (i + 1) + ": Enter starts from it.");
}

function applyTens(key) {
  const match = /^10:(\d+):(.*)$/.exec(key);
  const i = Number(match[1]);
  const q = questionNamed(match[2]);
  setRadio(inputName(q, i), 10); // "1" then "0" on a scale that reaches 10
  say("Answer " + (i + 1) + ": " + q.label + " 10.");
}

function applyPending(digit) {
  const key = S.pending;
  const i = S.selected;
  cancelPending();
  if (key === "g") return goTo(digit - 1);
  if (key === "r") return typeInto("rank", i, null, digit);
  if (key === "p") return typeInto("strength", -1, null, digit);
  if (key.startsWith("10:")) return applyTens(key);
  if (key) typeInto("question", i, questionNamed(key.slice(2)), digit);
}

function needSelection() {
  if (S.selected >= 0) return true;
  say("Select an answer first: press g then 1–" + S.task.candidates.length + ".");
  return false;
}

// A question's key: the cursor goes to it and a digit follows, or (text questions) focus goes to its box.
function questionKey(q) {
  if (!needSelection()) return;
  if (q.type !== "text") {
    pointAt("question", S.selected, q.name);
    return startPending("q:" + q.name);
  }
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
  const demo = S.task.kind === "demonstration";
  (demo ? els.answer : els.rationale).focus();
  say((demo ? "Writing your answer" : "Writing the rationale") + ": Esc leaves the box.");
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

// s: safe; u: toggles unsafe / safe. Every answer starts "safe" on a task that needs a verdict (entry.js).
function safetyKey(key) {
  if (!S.task.needs_safety) return say("This task needs no safety verdict.");
  if (!needSelection()) return;
  const name = "safety-" + S.selected;
  const verdict = key === "s" || radioValue(name) === "unsafe" ? "safe" : "unsafe";
  setRadio(name, verdict);
  say("Answer " + (S.selected + 1) + ": " + verdict + (verdict === "unsafe" ? " (u again: safe)." : "."));
}

function toggleAllBad() {
  if (!els.allBad) return say("This project has no “all answers are bad”.");
  els.allBad.checked = !els.allBad.checked;
  fire(els.allBad, "change");
  say(els.allBad.checked ? "Marked: all answers are bad." : "Unmarked: all answers are bad.");
}

// The letter keys: kinds says which tasks a key works on.
const LETTERS = {
  k: { kinds: ["demonstration", "comparison"], run: () => openSkip() },
  e: { kinds: ["demonstration", "comparison"], run: () => focusText() },
  g: { kinds: ["demonstration", "comparison"], run: () => startPending("g") },
  r: {
    kinds: ["comparison"],
    run: () => {
      if (!rankingOn()) return say("This project asks for no ranking.");
      if (!needSelection()) return;
      pointAt("rank", S.selected, "");
      startPending("r");
    },
  },
  p: {
    kinds: ["comparison"],
    run: () => {
      if (!strengthLevels().length) {
        return say(S.task.candidates.length === 2 ? "This project asks no preference strength." : "Preference strength is only for two answers.");
      }
      pointAt("strength", -1, "");
      startPending("p");
    },
  },
  s: { kinds: ["comparison"], run: () => safetyKey("s") },
  u: { kinds: ["comparison"], run: () => safetyKey("u") },
  b: { kinds: ["comparison"], run: () => toggleAllBad() },
};

// k and e first; then on a comparison its questions' keys (a question may own g), then the other fixed keys.
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

// Digits: with Shift, the rank of the selected answer; alone, the field under the cursor on a
// comparison, model answer N on a demonstration.
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
  if (comparison) typeDigit(digit);
  else goTo(digit - 1);
}

// ←/→: the previous / next answer (not while a radio group or a box has the focus: they use them).
function arrowKey(event) {
  const target = event.target;
  if (target && target.tagName === "INPUT") return;
  const count = (S.task.candidates || []).length;
  const step = event.key === "ArrowLeft" ? -1 : 1;
  const i = S.selected < 0 ? 0 : S.selected + step;
  if (!count) return;
  event.preventDefault();
  if (i < 0 || i >= count) return say(step < 0 ? "This is the first answer." : "This is the last answer.");
  goTo(i);
}

function namedKey(event, key) {
  if (key === "ArrowLeft" || key === "ArrowRight") return arrowKey(event);
  if (key === "Backspace" && S.task.kind === "comparison") {
    event.preventDefault();
    return back();
  }
  letterKey(event, key);
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
  if (event.key !== "Backspace") return false;
  event.preventDefault(); // Backspace only cancels the pending key
  return true;
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
  namedKey(event, key);
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
