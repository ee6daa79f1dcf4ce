// Loading the next task and drawing it (or the reason there is none).

import { config, els, resetTask, S, setPhase } from "./state.js";
import { clearAlert, clock, forgetTextBlocks, h, page, rawTextShown, setStatus, showRawText, store, stored, textBlock } from "./dom.js";
import { api, messageOf } from "./api.js";
import { rankingOn, trackLabel } from "./schema.js";
import { applyDemonstrationDraft, renderDemonstration } from "./demonstration.js";
import { renderComparison, renderHelpRows } from "./comparison.js";
import { renderBoard } from "./ranking.js";
import { applyComparisonDraft, markSaved } from "./drafts.js";
import { startEntry } from "./entry.js";

const LEASE_REFRESH_MS = 15000;

// `url`: that task of mine (GET) instead of the next one (previous.js); ?item=<id> does it once on load.
export async function loadNext(url) {
  resetTask();
  const generation = S.generation;
  setPhase("loading");
  clearAlert();
  page.root.setAttribute("aria-busy", "true");
  page.root.replaceChildren(h("p", { class: "muted", text: "Loading your next task…" }));
  const open = url || config.openItemUrl; // ?item=<id>: that task of mine once (a reopened label), then the queue
  config.openItemUrl = null;
  if (open) history.replaceState(null, "", config.workbenchUrl);
  let result;
  try {
    result = open ? await api("GET", open) : await api("POST", config.nextUrl, {});
  } catch (err) {
    if (generation !== S.generation) return;
    page.root.removeAttribute("aria-busy");
    renderLoadError("The server could not be reached. Check your connection.");
    return;
  }
  if (generation !== S.generation) return;
  page.root.removeAttribute("aria-busy");
  if (result.status === 200 && result.data) renderTask(result.data);
  else if (result.status === 204) renderEmpty();
  else if (result.status === 409) renderGuidelinesChanged(result);
  else renderLoadError(messageOf(result, "The next task could not be loaded (error " + result.status + ")."));
}

function retryButton(text) {
  return h("button", { type: "button", class: "button", "data-action": "next", text: text || "Try again" });
}

function renderEmpty() {
  setPhase("empty");
  if (config.emptyMessage) {
    const anything = h("button", { type: "button", class: "button button-primary", text: "Switch to anything" });
    anything.addEventListener("click", async () => {
      const result = await api("PUT", config.preferenceUrl, { kind: "", track: "" });
      if (result.ok) window.location.assign(config.workbenchUrl); // the bar's chooser shows the new choice
      else renderLoadError(messageOf(result, "Your choice could not be changed (error " + result.status + ")."));
    });
    const actions = h("p", {}, anything, " ", retryButton("Check again"));
    page.root.replaceChildren(h("div", { class: "card empty wb-empty" }, h("p", {}, h("strong", { text: config.emptyMessage })), actions));
    return;
  }
  page.root.replaceChildren(
    h(
      "div",
      { class: "card empty wb-empty" },
      h("p", {}, h("strong", { text: "Nothing left for you right now." })),
      h("p", { text: "Every open item is labeled or being labeled by others. New prompts and candidates bring new work." }),
      h("p", {}, retryButton("Check again"))
    )
  );
}

function renderGuidelinesChanged(result) {
  setPhase("empty");
  page.root.replaceChildren(
    h(
      "div",
      { class: "card card-warning" },
      h("p", {}, h("strong", { text: messageOf(result, "The guidelines changed.") })),
      h("p", {}, h("a", { class: "button button-primary", href: config.workbenchUrl, text: "Read what changed" }))
    )
  );
}

function renderLoadError(message) {
  setPhase("empty");
  page.root.replaceChildren(h("div", { class: "card" }, h("p", { class: "text-danger", text: message }), h("p", {}, retryButton())));
}

function taskTitle(task) {
  const count = (task.candidates || []).length;
  if (task.kind === "demonstration") return "Write the ideal answer";
  if (!rankingOn()) return count === 1 ? "Rate the answer" : "Rate " + count + " answers";
  return count === 2 ? "Compare two answers" : "Rank " + count + " answers";
}

function rawKey() {
  return "labelhub.workbench.raw." + config.projectId;
}

// Markdown or raw text for every message and answer; the choice is remembered (this browser, project).
function rawToggle() {
  const box = h("input", { type: "checkbox", id: "wb-raw", "data-action": "raw" });
  box.checked = rawTextShown();
  box.addEventListener("change", () => {
    showRawText(box.checked);
    store(rawKey(), box.checked ? "raw" : "markdown");
  });
  return h("label", { class: "check small wb-raw-toggle", for: "wb-raw" }, box, "Raw text");
}

function taskHead(task) {
  els.lease = h("span", { class: "wb-lease" });
  return h(
    "header",
    { class: "wb-task-head" },
    h("div", { class: "wb-task-title-row" }, h("h2", { id: "wb-task-title", tabindex: "-1", text: taskTitle(task) }), rawToggle()),
    h(
      "p",
      { class: "muted small wb-task-meta" },
      "Task #" + task.id + " · ",
      h("span", { class: "badge badge-track", title: task.track, text: trackLabel(task) }),
      task.needs_safety ? [" ", h("span", { class: "badge badge-warn", text: "safety verdict needed" })] : null,
      " · guidelines v" + task.guideline_version + " · ",
      els.lease
    )
  );
}

function restoreDraft(task, demo) {
  if (!task.draft || typeof task.draft !== "object") {
    setStatus("");
    return;
  }
  if (demo) applyDemonstrationDraft(task.draft);
  else applyComparisonDraft(task.draft);
  setStatus("Draft restored.");
}

function renderTask(task) {
  S.task = task;
  forgetTextBlocks();
  showRawText(stored(rawKey()) === "raw");
  const demo = task.kind === "demonstration";
  const head = taskHead(task);
  const form = demo ? renderDemonstration(task) : renderComparison(task);
  page.root.replaceChildren(head, renderConversation(task.messages), form);
  if (task.review_comment) {
    const note = h("strong", { text: "Fixing a rejected label. The reviewer said: " });
    head.after(h("p", { class: "card card-warning wb-review-note", role: "note", dir: "auto" }, note, task.review_comment));
  }
  els.form = form;
  els.submit = form.querySelector("#wb-submit");
  els.skip = form.querySelector("#wb-skip-button");
  els.cards = Array.from(form.querySelectorAll(".wb-cand"));
  restoreDraft(task, demo);
  if (!demo) renderBoard();
  renderHelpRows(task);
  startEntry();
  markSaved();
  setPhase("editing");
  updateLease();
  S.leaseTimer = setInterval(updateLease, LEASE_REFRESH_MS);
  document.getElementById("wb-task-title").focus({ preventScroll: true });
}

function updateLease() {
  if (!S.task || !els.lease) return;
  const until = new Date(S.task.lease_expires_at);
  if (isNaN(until.getTime())) return;
  const expired = Date.now() > until.getTime();
  els.lease.textContent = expired
    ? "your reservation ran out at " + clock(until) + ": submit now (it fails if someone else took the task)"
    : "reserved for you until " + clock(until);
  els.lease.classList.toggle("is-expired", expired);
}

function renderConversation(messages) {
  return h(
    "section",
    { class: "wb-conversation", "aria-labelledby": "wb-conversation-title" },
    h("h3", { id: "wb-conversation-title", class: "wb-section-title", text: "Conversation" }),
    h(
      "ol",
      { class: "conversation" },
      (messages || []).map((message) => {
        const role = String(message.role || "");
        const css = /^(system|user|assistant)$/.test(role) ? role : "other";
        return h(
          "li",
          { class: "message message-" + css },
          h("div", { class: "message-role", text: role }),
          textBlock(message.content, message.html, "wb-message-text")
        );
      })
    )
  );
}
