// The workbench's state: the page's configuration and schema, the one task on screen (S), the
// nodes of its form (els), and setPhase, the only function that changes S.phase.

import { page, setKeys } from "./dom.js";

function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

// wb-config: URLs and the CSRF token. wb-schema: the project's current labeling schema
// (Schema.as_dict() of the published version the labeler acknowledged).
export const config = readJson("wb-config");
export const pageSchema = readJson("wb-schema");

export const PHASES = ["idle", "loading", "editing", "submitting", "done", "stale", "empty"];
export const SAVE_DELAY_MS = 1000;
export const PENDING_MS = 4000;

// One task at a time. `generation` changes with every task so late responses are ignored.
export const S = {
  task: null,
  phase: "idle",
  generation: 0,
  selected: -1,
  pending: null,
  pendingTimer: null,
  saveTimer: null,
  lastSaved: "",
  autosave: true,
  demoSource: null,
  undo: null,
  leaseTimer: null,
  skipping: false,
  returnFocus: null,
};

// The current task's form nodes (form, submit, cards, answer, rationale, board, allBad, lease…).
export const els = {};

export function setPhase(phase) {
  if (!PHASES.includes(phase)) throw new Error("unknown workbench phase: " + phase);
  S.phase = phase;
}

// The form changed in a way no input/change event reports (a drop on the ranking list, a
// demonstration started from a model answer): main.js schedules the autosave. An event, not an
// import: the module graph stays acyclic, which hashed file names need (see core/staticfiles.py).
export function formChanged() {
  page.root.dispatchEvent(new CustomEvent("wb-changed"));
}

export function editing() {
  return S.task !== null && S.phase === "editing";
}

export function stopAutosave() {
  clearTimeout(S.saveTimer);
  S.saveTimer = null;
}

// What the key line says when no key is pending (entry.js: what the next digit does).
let idleKeys = null;

export function setIdleKeys(fn) {
  idleKeys = fn;
}

export function cancelPending() {
  clearTimeout(S.pendingTimer);
  S.pending = null;
  const idle = idleKeys ? idleKeys() : "";
  setKeys(idle, !!idle);
}

// Forget the task on screen; responses to requests made for it are ignored from now on.
export function resetTask() {
  stopAutosave();
  clearInterval(S.leaseTimer);
  idleKeys = null;
  cancelPending();
  S.generation += 1;
  Object.assign(S, { task: null, selected: -1, lastSaved: "", autosave: true, demoSource: null, undo: null });
  for (const key of Object.keys(els)) delete els[key];
}
