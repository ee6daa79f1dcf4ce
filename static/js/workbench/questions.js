// One renderer per question type (scale, binary, choice, multi, text), and reading / writing an
// answer from / into the form. Input names: "q-<question>-<answer index>".

import { els } from "./state.js";
import { fire, h } from "./dom.js";
import { digitsText, inputName, pointLabel, points } from "./schema.js";

function questionLegend(q) {
  const digits = digitsText(q);
  return h(
    "legend",
    {},
    h("span", { class: "likert-name", text: q.label }),
    " ",
    q.required
      ? [h("span", { class: "wb-required", "aria-hidden": "true", title: "Required", text: "*" }), h("span", { class: "visually-hidden", text: "(required)" })]
      : h("span", { class: "likert-hint", text: "(optional)" }),
    q.hint ? [" ", h("span", { class: "likert-hint", text: q.hint })] : null,
    q.key
      ? [" ", h("kbd", {
          class: "likert-key",
          title: "Shortcut: " + q.key + (digits ? " then " + digits : " (goes to the box)"),
          text: q.key,
        })]
      : null
  );
}

function scaleBody(q, name) {
  const low = pointLabel(q, q.min);
  const high = pointLabel(q, q.max);
  return h(
    "div",
    { class: "likert-scale" },
    low ? h("span", { class: "likert-end", "aria-hidden": "true", text: low }) : null,
    points(q).map((value) => {
      const point = pointLabel(q, value);
      return h(
        "label",
        { class: "likert-opt", title: point || null },
        h("input", {
          type: "radio",
          name,
          value,
          "aria-label": q.label + " " + value + " of " + q.max + (point ? " (" + point + ")" : ""),
        }),
        h("span", { text: String(value) })
      );
    }),
    high ? h("span", { class: "likert-end", "aria-hidden": "true", text: high }) : null
  );
}

function optionsBody(q, name, type, pairs) {
  return h(
    "div",
    { class: "wb-options" },
    pairs.map(([value, text], j) =>
      h(
        "label",
        { class: "check" },
        h("input", { type, name, value, "aria-label": q.label + ": " + text }),
        h("span", { class: "wb-opt-num", "aria-hidden": "true", text: String(j + 1) }),
        h("span", { text })
      )
    )
  );
}

function optionPairs(q) {
  return (q.options || []).map((option) => [option, option]);
}

const BODIES = {
  scale: (q, name) => scaleBody(q, name),
  binary: (q, name) => optionsBody(q, name, "radio", [["true", "Yes"], ["false", "No"]]),
  choice: (q, name) => optionsBody(q, name, "radio", optionPairs(q)),
  multi: (q, name) => optionsBody(q, name, "checkbox", optionPairs(q)),
  text: (q, name) =>
    h("textarea", { name, rows: "2", class: "wb-q-text", dir: "auto", maxlength: q.max_length || 2000, "aria-label": q.label }),
};

const FIELD_CSS = { scale: "likert", multi: "wb-flags", text: "wb-q-textfield" };

// One question for answer i: its legend (label, required mark, hint, key), description, input(s).
export function questionField(q, i) {
  const name = inputName(q, i);
  const body = BODIES[q.type] || BODIES.text;
  return h(
    "fieldset",
    { class: "wb-question " + (FIELD_CSS[q.type] || "wb-choice"), "data-question": q.name, "data-type": q.type },
    questionLegend(q),
    q.description ? h("p", { class: "help", text: q.description }) : null,
    body(q, name),
    h("p", { class: "field-error", "data-error-for": name, hidden: true })
  );
}

// Form inputs -----------------------------------------------------------------------------------

export function inputsNamed(name) {
  return Array.from(els.form.querySelectorAll('input[name="' + CSS.escape(name) + '"]'));
}

export function radioValue(name) {
  const checked = inputsNamed(name).find((input) => input.checked);
  return checked ? checked.value : "";
}

// Check the radio of `name` whose value is `value` (silently when restoring a draft).
export function setRadio(name, value, silent) {
  const found = inputsNamed(name).find((input) => input.value === String(value));
  if (!found) return false;
  found.checked = true;
  if (!silent) fire(found, "change");
  return true;
}

export function toggleOption(name, j) {
  const box = inputsNamed(name)[j];
  if (!box) return null;
  box.checked = !box.checked;
  fire(box, "change");
  return box;
}

const READERS = {
  text: (name) => {
    const box = els.form.elements[name];
    return box && box.value.trim() ? box.value : undefined;
  },
  multi: (name) => {
    const ticked = inputsNamed(name).filter((b) => b.checked).map((b) => b.value);
    return ticked.length ? ticked : undefined;
  },
  scale: (name) => (radioValue(name) === "" ? undefined : Number(radioValue(name))),
  binary: (name) => (radioValue(name) === "" ? undefined : radioValue(name) === "true"),
  choice: (name) => (radioValue(name) === "" ? undefined : radioValue(name)),
};

// One answer as the server wants it (undefined: not answered).
export function readAnswer(q, i) {
  return (READERS[q.type] || READERS.choice)(inputName(q, i));
}

export function writeAnswer(q, i, value) {
  const name = inputName(q, i);
  if (q.type === "text") {
    if (typeof value === "string" && els.form.elements[name]) els.form.elements[name].value = value;
  } else if (q.type === "multi") {
    if (!Array.isArray(value)) return;
    inputsNamed(name).forEach((box) => { box.checked = value.includes(box.value); });
  } else if (value !== null && value !== undefined) {
    setRadio(name, value, true);
  }
}

// A digit after a question's key: the point of a scale, yes (1) / no (2), the N-th option.
// Returns {ok, text, tens}: whether it took the digit, the key hint, and whether a 0 may follow (a 1
// on a scale that reaches 10). Out of range: not ok, nothing changes.
export function answerByDigit(q, i, digit) {
  const name = inputName(q, i);
  const prefix = "Answer " + (i + 1) + ": " + q.label + " ";
  if (q.type === "scale") {
    if (digit < q.min || digit > q.max) return { text: q.label + " goes from " + q.min + " to " + q.max + "." };
    setRadio(name, digit);
    if (digit === 1 && q.max >= 10) return { ok: true, text: prefix + "1 (press 0 now for 10).", tens: true };
    return { ok: true, text: prefix + digit + "." };
  }
  if (q.type === "binary") {
    if (digit !== 1 && digit !== 2) return { text: q.label + ": press 1 for yes, 2 for no." };
    setRadio(name, digit === 1 ? "true" : "false");
    return { ok: true, text: prefix + (digit === 1 ? "yes." : "no.") };
  }
  const option = (q.options || [])[digit - 1];
  if (option === undefined) return { text: q.label + " has no option " + digit + "." };
  if (q.type === "choice") {
    setRadio(name, option);
    return { ok: true, text: prefix + "“" + option + "”." };
  }
  const box = toggleOption(name, digit - 1);
  return { ok: true, text: prefix + "“" + option + "” " + (box.checked ? "ticked" : "unticked") + "." };
}
