// The labeling schema of the task on screen. The page carries the project's current schema
// (wb-schema); a task claimed under another guideline version brings its own in the payload, and
// that one wins for that task. Schema text (labels, hints, options, track names) is untrusted: it
// only ever reaches the page as text nodes and attributes.

import { config, pageSchema, S } from "./state.js";

export function schemaFor(task) {
  if (!task) return pageSchema || {};
  const sameVersion = pageSchema && config.guidelineVersion === task.guideline_version;
  if (sameVersion || !task.schema) return pageSchema || task.schema || {};
  return task.schema;
}

export function schema() {
  return schemaFor(S.task);
}

export function askedQuestions() {
  const names = (S.task && S.task.questions) || [];
  return (schema().questions || []).filter((q) => names.includes(q.name));
}

export function questionNamed(name) {
  return askedQuestions().find((q) => q.name === name) || null;
}

export function questionByKey(key) {
  return askedQuestions().find((q) => q.key === key) || null;
}

export function rankingOn() {
  return !!(schema().ranking && schema().ranking.enabled);
}

export function tiesOn() {
  return !schema().ranking || schema().ranking.ties !== false;
}

export function allBadOn() {
  return !!(schema().ranking && schema().ranking.all_bad);
}

export function strengthLevels() {
  const levels = (schema().strength && schema().strength.levels) || [];
  return rankingOn() && S.task.candidates.length === 2 ? levels : [];
}

export function rationaleRules() {
  const rules = schema().rationale || {};
  return { required: rules.required === true, maxLength: rules.max_length || 2000 };
}

export function trackLabel(task) {
  const track = (schemaFor(task).tracks || []).find((t) => t.name === task.track);
  return track ? track.label : String(task.track || "");
}

export function inputName(q, i) {
  return "q-" + q.name + "-" + i;
}

export function pointLabel(q, value) {
  return (q.point_labels || {})[String(value)] || "";
}

export function points(q) {
  const out = [];
  for (let v = q.min; v <= q.max; v++) out.push(v);
  return out;
}

// What a digit does after a question's key, for the help, the key hint and the legend's <kbd> title.
export function digitsText(q) {
  if (q.type === "scale") return q.min + "–" + q.max;
  if (q.type === "binary") return "1 yes, 2 no";
  if (q.type === "text") return "";
  return "1–" + (q.options || []).length;
}

export function candidateIndex(id) {
  return (S.task.candidates || []).findIndex((c) => String(c.id) === String(id));
}
