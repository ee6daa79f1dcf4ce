// The dialogs: the shortcut help and "Skip this task" (asks why). Focus returns where it was.

import { S, setPhase, stopAutosave } from "./state.js";
import { page, setStatus } from "./dom.js";
import { api, itemUrl, messageOf } from "./api.js";
import { loadNext } from "./task.js";
import { goStale } from "./submit.js";
import { dismissHint } from "./entry.js";
import { rememberPrevious } from "./previous.js";

export function openDialog(dialog, focusTarget) {
  if (dialog.open) return;
  S.returnFocus = document.activeElement;
  dialog.showModal();
  if (focusTarget) focusTarget.focus();
}

export function toggleHelp() {
  if (page.helpDialog.open) page.helpDialog.close();
  else openDialog(page.helpDialog, page.helpDialog.querySelector("[data-close-dialog]"));
}

export function openSkip() {
  if (!S.task || S.phase !== "editing") return;
  page.skipError.hidden = true;
  page.skipError.textContent = "";
  page.skipReason.value = "";
  page.skipSubmit.disabled = false;
  openDialog(page.skipDialog, page.skipReason);
}

function skipFailed(message) {
  page.skipError.textContent = message;
  page.skipError.hidden = false;
  page.skipReason.focus();
}

function skipAnswered(result, taskId) {
  if (result.ok) {
    S.returnFocus = null;
    page.skipDialog.close();
    document.body.dispatchEvent(new CustomEvent("wb-submitted"));
    rememberPrevious(taskId, true);
    loadNext().then(() => setStatus("Task #" + taskId + " skipped."));
  } else if (result.status === 409) {
    page.skipDialog.close();
    goStale(result);
  } else {
    setPhase("editing");
    skipFailed(messageOf(result, "The skip was refused (error " + result.status + ")."));
  }
}

export async function doSkip() {
  if (S.skipping || !S.task || S.phase !== "editing") return;
  const reason = page.skipReason.value.trim();
  if (!reason) {
    skipFailed("Say why you skip (one line helps the admins).");
    return;
  }
  stopAutosave();
  S.skipping = true;
  setPhase("submitting");
  page.skipSubmit.disabled = true;
  const generation = S.generation;
  const taskId = S.task.id;
  let result = null;
  try {
    result = await api("POST", itemUrl("skip"), { reason });
  } catch (err) {
    result = null;
  }
  S.skipping = false;
  page.skipSubmit.disabled = false;
  if (generation !== S.generation) return;
  if (result) {
    skipAnswered(result, taskId);
  } else {
    setPhase("editing");
    skipFailed("The server could not be reached. Try again.");
  }
}

export function installDialogs() {
  for (const dialog of [page.helpDialog, page.skipDialog]) {
    dialog.addEventListener("close", () => {
      const target = S.returnFocus;
      S.returnFocus = null;
      if (target && document.contains(target) && typeof target.focus === "function") target.focus({ preventScroll: true });
    });
    dialog.addEventListener("click", (event) => {
      if (event.target.closest("[data-close-dialog]")) dialog.close();
    });
  }
  page.skipDialog.addEventListener("click", (event) => {
    const pick = event.target.closest("[data-skip-reason]");
    if (!pick) return;
    page.skipReason.value = pick.getAttribute("data-skip-reason");
    page.skipReason.focus();
  });
  page.skipForm.addEventListener("submit", (event) => {
    event.preventDefault();
    doSkip();
  });
  const hint = document.getElementById("wb-hint");
  if (hint) hint.addEventListener("click", (event) => {
    if (event.target.closest("[data-dismiss-hint]")) dismissHint();
  });
  page.helpButton.addEventListener("click", () => {
    openDialog(page.helpDialog, page.helpDialog.querySelector("[data-close-dialog]"));
  });
}
