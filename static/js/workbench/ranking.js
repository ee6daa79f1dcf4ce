// The ranking: a rank box per answer, the "Your ranking" list (drag to reorder), the strength levels.

import { els, formChanged, S } from "./state.js";
import { fire, h, page, setStatus } from "./dom.js";
import { rankingOn, tiesOn } from "./schema.js";

export function rankField(i, count) {
  if (!rankingOn()) return null;
  return h(
    "label",
    { class: "wb-rank" },
    h("span", { text: "Rank" }),
    h("input", {
      type: "number",
      min: 1,
      max: count,
      step: 1,
      inputmode: "numeric",
      name: "rank-" + i,
      class: "wb-rank-input",
      "data-index": i,
      "aria-label": "Rank of answer " + (i + 1) + (tiesOn() ? " (1 = best, ties allowed)" : " (1 = best, no ties)"),
    }),
    h("span", { class: "muted small", text: "of " + count })
  );
}

export function boardSection() {
  els.board = h("ol", { class: "wb-board", id: "wb-board", "aria-describedby": "wb-board-help" });
  const help = tiesOn()
    ? "Best first. Drag to reorder (this numbers them 1, 2, 3…), or type ranks: the same rank twice is a tie."
    : "Best first. Drag to reorder (this numbers them 1, 2, 3…), or type ranks: every answer gets its own rank.";
  return h(
    "section",
    { class: "wb-board-wrap", "aria-labelledby": "wb-board-title" },
    h("h3", { id: "wb-board-title", class: "wb-section-title", text: "Your ranking" }),
    els.board,
    h("p", { id: "wb-board-help", class: "help", text: help }),
    h("p", { class: "field-error", "data-error-for": "ranks", hidden: true })
  );
}

export function strengthSection(levels) {
  return h(
    "fieldset",
    { class: "wb-strength" },
    h(
      "legend",
      {},
      "How much better is the answer you ranked first? ",
      h("kbd", { class: "likert-key", title: "Shortcut: p then 1–" + levels.length, text: "p" })
    ),
    tiesOn() ? h("p", { class: "help", text: "Leave empty for a tie." }) : null,
    levels.map((level, j) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "radio", name: "strength", value: level.name }),
        h("span", { class: "wb-opt-num", "aria-hidden": "true", text: String(j + 1) }),
        h("span", { text: level.label })
      )
    ),
    h("p", { class: "field-error", "data-error-for": "strength", hidden: true })
  );
}

export function rankInput(i) {
  return els.form.elements["rank-" + i];
}

export function rankOf(i) {
  if (!rankingOn()) return null;
  const value = Number(rankInput(i).value);
  return Number.isInteger(value) && value >= 1 && value <= S.task.candidates.length ? value : null;
}

function boardItem(entry, position, entries) {
  const tied = entry.rank !== null && entries.some((other) => other !== entry && other.rank === entry.rank);
  const first = position === 0 || entries[position - 1].rank !== entry.rank || entry.rank === null;
  return h(
    "li",
    {
      class: "wb-board-item" + (entry.rank === null ? " is-unranked" : "") + (tied ? " is-tied" : "") + (first ? "" : " is-tied-next"),
      draggable: "true",
      "data-index": entry.i,
    },
    h("span", { class: "wb-board-rank", text: entry.rank === null ? "–" : "#" + entry.rank }),
    h("span", { text: "Answer " + (entry.i + 1) }),
    tied ? h("span", { class: "wb-board-tie", text: tiesOn() ? "tie" : "tie: not allowed" }) : null
  );
}

export function renderBoard() {
  if (!els.board) return;
  const entries = S.task.candidates.map((candidate, i) => ({ i, rank: rankOf(i) }));
  entries.sort((a, b) => (a.rank || 99) - (b.rank || 99) || a.i - b.i);
  els.board.replaceChildren(...entries.map((entry, position) => boardItem(entry, position, entries)));
  els.cards.forEach((card, i) => {
    const input = rankInput(i);
    const raw = input.value.trim();
    input.setAttribute("aria-invalid", raw !== "" && rankOf(i) === null ? "true" : "false");
  });
}

export function setRank(i, rank) {
  const input = rankInput(i);
  input.value = String(rank);
  fire(input, "input");
}

// Drag and drop on the ranking list: dropping numbers the answers 1..K in the new order.
let dragIndex = null;

function boardItemOf(event) {
  return event.target.closest ? event.target.closest(".wb-board-item") : null;
}

function onDragStart(event) {
  const item = boardItemOf(event);
  if (!item || S.phase !== "editing") return;
  dragIndex = Number(item.getAttribute("data-index"));
  item.classList.add("is-dragging");
  event.dataTransfer.effectAllowed = "move";
  event.dataTransfer.setData("text/plain", "answer " + (dragIndex + 1));
}

function onDragOver(event) {
  const item = boardItemOf(event);
  if (!item || dragIndex === null) return;
  event.preventDefault();
  els.board.querySelectorAll(".is-drop-target").forEach((node) => node.classList.remove("is-drop-target"));
  item.classList.add("is-drop-target");
}

function onDragEnd() {
  dragIndex = null;
  if (!els.board) return;
  els.board.querySelectorAll(".is-dragging, .is-drop-target").forEach((node) => {
    node.classList.remove("is-dragging", "is-drop-target");
  });
}

function onDrop(event) {
  const item = boardItemOf(event);
  if (!item || dragIndex === null) return;
  event.preventDefault();
  const order = Array.from(els.board.children, (node) => Number(node.getAttribute("data-index")));
  const target = Number(item.getAttribute("data-index"));
  const from = order.indexOf(dragIndex);
  const to = order.indexOf(target);
  order.splice(from, 1);
  order.splice(to, 0, dragIndex);
  order.forEach((i, position) => { rankInput(i).value = String(position + 1); });
  dragIndex = null;
  renderBoard();
  formChanged();
  setStatus("Ranking reordered.");
}

export function installDrag() {
  page.root.addEventListener("dragstart", onDragStart);
  page.root.addEventListener("dragover", onDragOver);
  page.root.addEventListener("dragend", onDragEnd);
  page.root.addEventListener("drop", onDrop);
}
