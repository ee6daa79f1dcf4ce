// "Back to my previous task": right after a submit or a skip, the bar's button (and the [ key)
// reopens that task while its lease runs: a submitted one to amend (the submit becomes a PUT that
// replaces the label, until it is reviewed), a skipped one to do after all (POST …/resume takes its
// slot back). The server says no (409, with why) once the lease ran out or the label was reviewed.

import { config, S } from "./state.js";
import { setStatus, showAlert } from "./dom.js";
import { api, messageOf } from "./api.js";
import { loadNext } from "./task.js";

const button = document.getElementById("wb-back");
let previous = null; // {id, skipped}

export function rememberPrevious(id, skipped) {
  previous = { id, skipped: !!skipped };
  if (button) button.hidden = false;
}

export function hasPrevious() {
  return previous !== null;
}

function forget() {
  previous = null;
  if (button) button.hidden = true;
}

export async function backToPrevious() {
  if (!previous || S.phase === "submitting" || S.phase === "loading") return;
  const { id, skipped } = previous;
  forget();
  const url = config.itemUrl + id;
  if (skipped) {
    const result = await api("POST", url + "/resume", {});
    if (!result.ok) {
      showAlert(messageOf(result, "Task #" + id + " cannot be reopened."), { kind: "info" });
      return;
    }
  }
  await loadNext(url);
  if (!S.task || S.task.id !== id || S.task.status !== "submitted") return;
  if (!S.task.amendable) {
    await loadNext();
    showAlert("Task #" + id + " can no longer be amended: it was reviewed, or its time ran out.", { kind: "info" });
    return;
  }
  S.autosave = false; // a submitted task keeps no draft: submitting again replaces the label
  setStatus("Amending task #" + id + ": submit again to replace your label.");
}

if (button) button.addEventListener("click", backToPrevious);
