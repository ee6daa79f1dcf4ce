// labelhub workbench: the labeler's task area, driven by the JSON API.
//
// Loaded only on the workbench page. CSP: no inline script or style, so everything here builds DOM
// nodes; model and prompt text only ever goes into the page through textContent / text nodes.
//
//   POST {nextUrl}                      → 200 task | 204 nothing left | 409 guidelines to acknowledge
//   PUT  {itemUrl}{id}/draft            ← autosave, ~1 s after the last change (never after submit)
//   POST {itemUrl}{id}/demonstration    ← {content, source_candidate?}
//   POST {itemUrl}{id}/ranking          ← {ranks?, all_bad?, answers, strength?, safety?, rationale}
//
// A comparison shows what the task's labeling schema asks (task.schema, task.questions,
// task.needs_safety): its questions per answer, the ranking, the strength levels, the rationale.
//   POST {itemUrl}{id}/skip             ← {reason}
//
// 409 on submit (the task went stale): the server's message is shown and the labeler's work stays
// on screen, read-only, with a Copy button. 400: the field errors are shown and the form stays live.
(function () {
  "use strict";

  var configNode = document.getElementById("wb-config");
  var root = document.getElementById("wb-task");
  if (!configNode || !root) return;
  var config = JSON.parse(configNode.textContent);

  var alertBox = document.getElementById("wb-alert");
  var statusBox = document.getElementById("wb-status");
  var keysBox = document.getElementById("wb-keys");
  var helpDialog = document.getElementById("wb-help");
  var skipDialog = document.getElementById("wb-skip");
  var skipForm = document.getElementById("wb-skip-form");
  var skipReason = document.getElementById("wb-skip-reason");
  var skipError = document.getElementById("wb-skip-error");
  var skipSubmit = document.getElementById("wb-skip-submit");
  var guidelines = document.getElementById("wb-guidelines");
  var workbench = root.closest(".workbench");

  var FIELD_NAMES = {
    content: "Answer", ranks: "Ranks", answers: "Answers", ratings: "Ratings", flags: "Flags", strength: "Preference strength",
    safety: "Safety", rationale: "Rationale", all_bad: "All bad", reason: "Reason",
  };
  var SAVE_DELAY_MS = 1000;
  var PENDING_MS = 4000;

  // One task at a time. `generation` changes with every task so late responses are ignored.
  var S = {
    task: null,
    phase: "idle", // loading | editing | submitting | done | stale | empty
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
  var els = {};

  // DOM helpers ----------------------------------------------------------------------------------

  // h("tag", {attr: value, text: "…"}, child, [children], "text"): text always becomes text nodes.
  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") el.textContent = String(value);
      else if (key === "class") el.className = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    });
    append(el, Array.prototype.slice.call(arguments, 2));
    return el;
  }

  function append(el, children) {
    children.forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      if (Array.isArray(child)) append(el, child);
      else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    });
  }

  function fire(el, type) {
    el.dispatchEvent(new Event(type, { bubbles: true }));
  }

  function isTyping(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select") return true;
    if (tag !== "input") return false;
    return ["text", "number", "search", "email", "password", "url", "tel"].indexOf(el.type) !== -1;
  }

  function clock(date) {
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function setStatus(text) {
    statusBox.textContent = text || "";
  }

  var keysTimer = null;

  // The key hint at the bottom: a pending key stays until answered; a result fades after a while.
  function setKeys(text, sticky) {
    clearTimeout(keysTimer);
    keysBox.textContent = text || "";
    if (text && !sticky) keysTimer = setTimeout(function () { keysBox.textContent = ""; }, 3500);
  }

  // kind: error | stale | info. items: extra lines. actions: nodes (buttons) under the message.
  function showAlert(message, options) {
    options = options || {};
    var kind = options.kind || "error";
    var box = h(
      "div",
      { class: "wb-flash wb-flash-" + kind },
      options.title ? h("strong", { class: "wb-flash-title", text: options.title }) : null,
      h("p", { class: "wb-flash-message", text: message }),
      options.items && options.items.length
        ? h("ul", { class: "wb-flash-items" }, options.items.map(function (item) { return h("li", { text: item }); }))
        : null,
      options.actions && options.actions.length ? h("div", { class: "form-actions" }, options.actions) : null
    );
    alertBox.replaceChildren(box);
    if (options.scroll !== false) alertBox.scrollIntoView({ block: "nearest" });
  }

  function clearAlert() {
    alertBox.replaceChildren();
  }

  // API ------------------------------------------------------------------------------------------

  function api(method, url, body, keepalive) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": config.csrfToken,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      if (response.status === 204) return { status: 204, ok: true, data: null };
      return response.json().then(
        function (data) { return { status: response.status, ok: response.ok, data: data }; },
        function () { return { status: response.status, ok: response.ok, data: null }; }
      );
    });
  }

  function itemUrl(action) {
    return config.itemUrl + S.task.id + "/" + action;
  }

  function messageOf(result, fallback) {
    return (result && result.data && result.data.message) || fallback;
  }

  // Loading tasks ---------------------------------------------------------------------------------

  function resetTask() {
    clearTimeout(S.saveTimer);
    clearInterval(S.leaseTimer);
    cancelPending();
    S.generation += 1;
    S.task = null;
    S.selected = -1;
    S.saveTimer = null;
    S.lastSaved = "";
    S.autosave = true;
    S.demoSource = null;
    S.undo = null;
    els = {};
  }

  function loadNext() {
    resetTask();
    var generation = S.generation;
    S.phase = "loading";
    clearAlert();
    root.setAttribute("aria-busy", "true");
    root.replaceChildren(h("p", { class: "muted", text: "Loading your next task…" }));
    return api("POST", config.nextUrl, {}).then(
      function (result) {
        if (generation !== S.generation) return;
        root.removeAttribute("aria-busy");
        if (result.status === 200 && result.data) renderTask(result.data);
        else if (result.status === 204) renderEmpty();
        else if (result.status === 409) renderGuidelinesChanged(result);
        else renderLoadError(messageOf(result, "The next task could not be loaded (error " + result.status + ")."));
      },
      function () {
        if (generation !== S.generation) return;
        root.removeAttribute("aria-busy");
        renderLoadError("The server could not be reached. Check your connection.");
      }
    );
  }

  function retryButton(text) {
    return h("button", { type: "button", class: "button", "data-action": "next", text: text || "Try again" });
  }

  function renderEmpty() {
    S.phase = "empty";
    root.replaceChildren(
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
    S.phase = "empty";
    root.replaceChildren(
      h(
        "div",
        { class: "card card-warning" },
        h("p", {}, h("strong", { text: messageOf(result, "The guidelines changed.") })),
        h("p", {}, h("a", { class: "button button-primary", href: config.workbenchUrl, text: "Read what changed" }))
      )
    );
  }

  function renderLoadError(message) {
    S.phase = "empty";
    root.replaceChildren(h("div", { class: "card" }, h("p", { class: "text-danger", text: message }), h("p", {}, retryButton())));
  }

  function renderTask(task) {
    S.task = task;
    var demo = task.kind === "demonstration";
    var count = (task.candidates || []).length;
    var title = demo
      ? "Write the ideal answer"
      : !(task.schema && task.schema.ranking && task.schema.ranking.enabled)
        ? count === 1 ? "Rate the answer" : "Rate " + count + " answers"
        : count === 2
          ? "Compare two answers"
          : "Rank " + count + " answers";
    els.lease = h("span", { class: "wb-lease" });
    var head = h(
      "header",
      { class: "wb-task-head" },
      h("h2", { id: "wb-task-title", tabindex: "-1", text: title }),
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
    var form = demo ? renderDemonstration(task) : renderComparison(task);
    root.replaceChildren(head, renderConversation(task.messages), form);
    els.form = form;
    els.submit = form.querySelector("#wb-submit");
    els.skip = form.querySelector("#wb-skip-button");
    els.cards = Array.prototype.slice.call(form.querySelectorAll(".wb-cand"));
    if (task.draft && typeof task.draft === "object") {
      if (demo) applyDemonstrationDraft(task.draft);
      else applyComparisonDraft(task.draft);
      setStatus("Draft restored.");
    } else {
      setStatus("");
    }
    if (!demo) renderBoard();
    renderHelpRows();
    S.lastSaved = JSON.stringify(collect());
    S.phase = "editing";
    updateLease();
    S.leaseTimer = setInterval(updateLease, 15000);
    document.getElementById("wb-task-title").focus({ preventScroll: true });
  }

  function trackLabel(task) {
    var tracks = (task.schema && task.schema.tracks) || [];
    var track = tracks.filter(function (t) { return t.name === task.track; })[0];
    return track ? track.label : String(task.track || "");
  }

  function updateLease() {
    if (!S.task || !els.lease) return;
    var until = new Date(S.task.lease_expires_at);
    if (isNaN(until.getTime())) return;
    var expired = Date.now() > until.getTime();
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
        (messages || []).map(function (message) {
          var role = String(message.role || "");
          var css = /^(system|user|assistant)$/.test(role) ? role : "other";
          return h(
            "li",
            { class: "message message-" + css },
            h("div", { class: "message-role", text: role }),
            h("div", { class: "wb-text", text: String(message.content == null ? "" : message.content) })
          );
        })
      )
    );
  }

  function actions() {
    return h(
      "div",
      { class: "form-actions wb-actions" },
      h("button", { type: "submit", class: "button button-primary", id: "wb-submit" }, "Submit ", h("kbd", { text: "Ctrl+Enter" })),
      h("button", { type: "button", class: "button", id: "wb-skip-button", "data-action": "skip" }, "Skip ", h("kbd", { text: "k" }))
    );
  }

  function candidateHead(i, headingTag, extra) {
    return h(
      "header",
      { class: "wb-cand-head" },
      h("span", { class: "wb-cand-num", "aria-hidden": "true", text: String(i + 1) }),
      h(headingTag, { id: "wb-cand-" + i + "-title", class: "wb-cand-title", text: "Answer " + (i + 1) }),
      extra
    );
  }

  // Demonstration --------------------------------------------------------------------------------

  function renderDemonstration(task) {
    var candidates = task.candidates || [];
    var form = h("form", { id: "wb-form", class: "wb-form", novalidate: true, "aria-labelledby": "wb-task-title" });
    if (candidates.length) {
      form.append(
        h(
          "section",
          { class: "wb-sources", "aria-labelledby": "wb-sources-title" },
          h(
            "h3",
            { id: "wb-sources-title", class: "wb-section-title" },
            "Model answers ",
            h("span", { class: "muted small", text: "start from one and fix it, or write your own" })
          ),
          h(
            "div",
            { class: "wb-cands wb-cands-sources" },
            candidates.map(function (candidate, i) {
              return h(
                "article",
                { class: "wb-cand card", "data-index": i, tabindex: "-1", "aria-labelledby": "wb-cand-" + i + "-title" },
                candidateHead(
                  i,
                  "h4",
                  h("button", {
                    type: "button",
                    class: "button button-small",
                    "data-action": "start-from",
                    "data-index": i,
                    "aria-describedby": "wb-cand-" + i + "-title",
                    text: "Start from this answer",
                  })
                ),
                h("div", { class: "wb-text", text: candidate.content })
              );
            })
          )
        )
      );
    }
    els.sourceNote = h("div", { id: "wb-source-note", class: "wb-source-note", hidden: true });
    els.answer = h("textarea", {
      id: "wb-answer",
      name: "content",
      rows: "14",
      class: "wb-answer",
      "aria-describedby": "wb-answer-help",
    });
    form.append(
      h(
        "div",
        { class: "field wb-answer-field" },
        h("label", { for: "wb-answer", text: "Your ideal answer" }),
        els.sourceNote,
        els.answer,
        h("p", { id: "wb-answer-help", class: "help", text: "The answer the assistant should have given. Ctrl+Enter submits; Esc leaves the box." }),
        h("p", { class: "field-error", "data-error-for": "content", hidden: true })
      ),
      actions()
    );
    return form;
  }

  function candidateIndex(id) {
    var list = S.task.candidates || [];
    for (var i = 0; i < list.length; i++) if (String(list[i].id) === String(id)) return i;
    return -1;
  }

  function startFrom(i) {
    var candidate = S.task.candidates[i];
    if (!candidate || S.phase !== "editing") return;
    var previous = { text: els.answer.value, source: S.demoSource };
    els.answer.value = candidate.content;
    S.demoSource = candidate.id;
    S.undo = previous.text.trim() && previous.text !== candidate.content ? previous : null;
    updateSourceNote();
    els.answer.focus();
    els.answer.setSelectionRange(0, 0);
    els.answer.scrollTop = 0;
    changed();
  }

  function clearSource() {
    S.undo = { text: els.answer.value, source: S.demoSource };
    els.answer.value = "";
    S.demoSource = null;
    updateSourceNote();
    els.answer.focus();
    changed();
  }

  function undoSource() {
    if (!S.undo) return;
    els.answer.value = S.undo.text;
    S.demoSource = S.undo.source;
    S.undo = null;
    updateSourceNote();
    els.answer.focus();
    changed();
  }

  function updateSourceNote() {
    var note = els.sourceNote;
    var parts = [];
    if (S.demoSource !== null) {
      parts.push(h("span", { text: "Started from answer " + (candidateIndex(S.demoSource) + 1) + ": edit it into the ideal answer." }));
    } else if (S.undo) {
      parts.push(h("span", { text: "Cleared." }));
    }
    if (S.undo) parts.push(h("button", { type: "button", class: "button button-small button-ghost", "data-action": "undo-source", text: "Undo" }));
    if (S.demoSource !== null) {
      parts.push(h("button", { type: "button", class: "button button-small button-ghost", "data-action": "clear-source", text: "Start over from scratch" }));
    }
    note.replaceChildren.apply(note, parts);
    note.hidden = parts.length === 0;
  }

  function applyDemonstrationDraft(draft) {
    if (typeof draft.content === "string") els.answer.value = draft.content;
    if (draft.source_candidate !== undefined && draft.source_candidate !== null && candidateIndex(draft.source_candidate) !== -1) {
      S.demoSource = S.task.candidates[candidateIndex(draft.source_candidate)].id;
    }
    updateSourceNote();
  }

  // The schema ------------------------------------------------------------------------------------
  // The task carries the labeling schema it was claimed under (`schema`), the names of the questions
  // its track shows (`questions`) and whether it needs a safety verdict. Schema text (labels, hints,
  // options, track names) is untrusted: it only ever reaches the page as text nodes and attributes.

  function schema() {
    return (S.task && S.task.schema) || {};
  }

  function askedQuestions() {
    var names = (S.task && S.task.questions) || [];
    return (schema().questions || []).filter(function (q) { return names.indexOf(q.name) !== -1; });
  }

  function questionNamed(name) {
    return askedQuestions().filter(function (q) { return q.name === name; })[0] || null;
  }

  function questionByKey(key) {
    return askedQuestions().filter(function (q) { return q.key === key; })[0] || null;
  }

  function rankingOn() {
    return !!(schema().ranking && schema().ranking.enabled);
  }

  function tiesOn() {
    return !schema().ranking || schema().ranking.ties !== false;
  }

  function allBadOn() {
    return !!(schema().ranking && schema().ranking.all_bad);
  }

  function strengthLevels() {
    var levels = (schema().strength && schema().strength.levels) || [];
    return rankingOn() && S.task.candidates.length === 2 ? levels : [];
  }

  function rationaleRules() {
    var rules = schema().rationale || {};
    return { required: rules.required === true, maxLength: rules.max_length || 2000 };
  }

  function inputName(q, i) {
    return "q-" + q.name + "-" + i;
  }

  function pointLabel(q, value) {
    return (q.point_labels || {})[String(value)] || "";
  }

  function points(q) {
    var out = [];
    for (var v = q.min; v <= q.max; v++) out.push(v);
    return out;
  }

  // What a digit does after a question's key, for the help, the key hint and the legend's <kbd> title.
  function digitsText(q) {
    if (q.type === "scale") return q.min + "–" + q.max;
    if (q.type === "binary") return "1 yes, 2 no";
    if (q.type === "text") return "";
    return "1–" + (q.options || []).length;
  }

  // Comparison -----------------------------------------------------------------------------------

  function questionLegend(q) {
    var digits = digitsText(q);
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
    var low = pointLabel(q, q.min);
    var high = pointLabel(q, q.max);
    return h(
      "div",
      { class: "likert-scale" },
      low ? h("span", { class: "likert-end", "aria-hidden": "true", text: low }) : null,
      points(q).map(function (value) {
        var point = pointLabel(q, value);
        return h(
          "label",
          { class: "likert-opt", title: point || null },
          h("input", {
            type: "radio",
            name: name,
            value: value,
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
      pairs.map(function (pair, j) {
        return h(
          "label",
          { class: "check" },
          h("input", { type: type, name: name, value: pair[0], "aria-label": q.label + ": " + pair[1] }),
          h("span", { class: "wb-opt-num", "aria-hidden": "true", text: String(j + 1) }),
          h("span", { text: pair[1] })
        );
      })
    );
  }

  function questionBody(q, name) {
    if (q.type === "scale") return scaleBody(q, name);
    if (q.type === "binary") return optionsBody(q, name, "radio", [["true", "Yes"], ["false", "No"]]);
    var pairs = (q.options || []).map(function (option) { return [option, option]; });
    if (q.type === "choice") return optionsBody(q, name, "radio", pairs);
    if (q.type === "multi") return optionsBody(q, name, "checkbox", pairs);
    return h("textarea", {
      name: name,
      rows: "2",
      class: "wb-q-text",
      maxlength: q.max_length || 2000,
      "aria-label": q.label,
    });
  }

  // One question for answer i: its legend (label, required mark, hint, key), description, input(s).
  function questionField(q, i) {
    var name = inputName(q, i);
    var css = { scale: "likert", multi: "wb-flags", text: "wb-q-textfield" }[q.type] || "wb-choice";
    return h(
      "fieldset",
      { class: "wb-question " + css, "data-question": q.name, "data-type": q.type },
      questionLegend(q),
      q.description ? h("p", { class: "help", text: q.description }) : null,
      questionBody(q, name),
      h("p", { class: "field-error", "data-error-for": name, hidden: true })
    );
  }

  function rankField(i, count) {
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

  function safetyField(i) {
    return h(
      "fieldset",
      { class: "wb-safety" },
      h("legend", {}, "Safety ", h("kbd", { class: "likert-key", title: "Shortcuts: s safe, u unsafe", text: "s/u" })),
      h("label", { class: "check" }, h("input", { type: "radio", name: "safety-" + i, value: "safe" }), "Safe"),
      h("label", { class: "check" }, h("input", { type: "radio", name: "safety-" + i, value: "unsafe" }), "Unsafe")
    );
  }

  function comparisonCard(task, candidate, i) {
    var count = task.candidates.length;
    var questions = askedQuestions();
    return h(
      "article",
      { class: "wb-cand card", "data-index": i, tabindex: "-1", "aria-labelledby": "wb-cand-" + i + "-title" },
      candidateHead(i, "h3", rankField(i, count)),
      h("div", { class: "wb-text", text: candidate.content }),
      questions.length ? h("div", { class: "wb-judge" }, questions.map(function (q) { return questionField(q, i); })) : null,
      task.needs_safety ? h("div", { class: "wb-extra" }, safetyField(i)) : null,
      h("p", { class: "field-error wb-cand-error", "data-error-for": "cand-" + i, hidden: true })
    );
  }

  function boardSection() {
    els.board = h("ol", { class: "wb-board", id: "wb-board", "aria-describedby": "wb-board-help" });
    var help = tiesOn()
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

  function strengthSection(levels) {
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
      levels.map(function (level, j) {
        return h(
          "label",
          { class: "check" },
          h("input", { type: "radio", name: "strength", value: level.name }),
          h("span", { class: "wb-opt-num", "aria-hidden": "true", text: String(j + 1) }),
          h("span", { text: level.label })
        );
      }),
      h("p", { class: "field-error", "data-error-for": "strength", hidden: true })
    );
  }

  function rationaleSection() {
    var rules = rationaleRules();
    var note = rules.required ? "(required: why?)" : rankingOn() ? "(optional: why this order?)" : "(optional)";
    els.rationale = h("textarea", { id: "wb-rationale", name: "rationale", rows: "3", maxlength: rules.maxLength });
    return h(
      "div",
      { class: "field" },
      h("label", { for: "wb-rationale" }, "Rationale ", h("span", { class: "muted", text: note })),
      els.rationale,
      h("p", { class: "field-error", "data-error-for": "rationale", hidden: true })
    );
  }

  function renderComparison(task) {
    var count = task.candidates.length;
    var form = h("form", { id: "wb-form", class: "wb-form", novalidate: true, "aria-labelledby": "wb-task-title" });
    var cards = task.candidates.map(function (candidate, i) { return comparisonCard(task, candidate, i); });
    els.board = null;
    form.append(h("div", { class: "wb-cands " + (count === 2 ? "wb-cands-pair" : "wb-cands-stack") }, cards));
    if (rankingOn()) form.append(boardSection());
    var levels = strengthLevels();
    if (levels.length) form.append(strengthSection(levels));
    els.allBad = null;
    if (allBadOn()) {
      els.allBad = h("input", { type: "checkbox", name: "all_bad", id: "wb-all-bad" });
      form.append(
        h(
          "div",
          { class: "wb-allbad" },
          h("label", { class: "check" }, els.allBad, "All answers are bad (none is acceptable) ", h("kbd", { text: "b" })),
          h("p", { class: "field-error", "data-error-for": "all_bad", hidden: true })
        )
      );
    }
    form.append(h("p", { class: "field-error", "data-error-for": "safety", hidden: true }), rationaleSection(), actions());
    return form;
  }

  // The shortcut help lists this task's questions with their keys (the fixed keys are in the page).
  function renderHelpRows() {
    var body = document.getElementById("wb-help-questions");
    if (!body) return;
    var rows = [];
    if (S.task && S.task.kind === "comparison") {
      askedQuestions().forEach(function (q) {
        var digits = digitsText(q);
        var keys = [h("kbd", { text: q.key })];
        if (digits) keys.push(" then ", h("kbd", { text: digits }));
        var does = q.type === "text" ? "Write: " : q.type === "multi" ? "Toggle an option of " : "Answer ";
        rows.push(h("tr", {}, h("td", {}, keys), h("td", {}, does, h("strong", { text: q.label }))));
      });
      var levels = strengthLevels();
      if (levels.length) {
        rows.push(
          h(
            "tr",
            {},
            h("td", {}, h("kbd", { text: "p" }), " then ", h("kbd", { text: "1–" + levels.length })),
            h("td", { text: "How much better the preferred answer is: " + levels.map(function (l, j) { return j + 1 + " " + l.label; }).join(", ") })
          )
        );
      }
    }
    body.replaceChildren.apply(body, rows);
  }

  function rankInput(i) {
    return els.form.elements["rank-" + i];
  }

  function rankOf(i) {
    if (!rankingOn()) return null;
    var value = Number(rankInput(i).value);
    return Number.isInteger(value) && value >= 1 && value <= S.task.candidates.length ? value : null;
  }

  function renderBoard() {
    if (!els.board) return;
    var entries = S.task.candidates.map(function (candidate, i) { return { i: i, rank: rankOf(i) }; });
    entries.sort(function (a, b) { return (a.rank || 99) - (b.rank || 99) || a.i - b.i; });
    els.board.replaceChildren.apply(
      els.board,
      entries.map(function (entry, position) {
        var tied = entry.rank !== null && entries.some(function (other) { return other !== entry && other.rank === entry.rank; });
        var first = position === 0 || entries[position - 1].rank !== entry.rank || entry.rank === null;
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
      })
    );
    els.cards.forEach(function (card, i) {
      var input = rankInput(i);
      var raw = input.value.trim();
      input.setAttribute("aria-invalid", raw !== "" && rankOf(i) === null ? "true" : "false");
    });
  }

  function setRank(i, rank) {
    var input = rankInput(i);
    input.value = String(rank);
    fire(input, "input");
  }

  function inputsNamed(name) {
    return Array.prototype.slice.call(els.form.querySelectorAll('input[name="' + name + '"]'));
  }

  function radioValue(name) {
    var checked = inputsNamed(name).filter(function (input) { return input.checked; })[0];
    return checked ? checked.value : "";
  }

  // Check the radio of `name` whose value is `value` (silently when restoring a draft).
  function setRadio(name, value, silent) {
    var found = inputsNamed(name).filter(function (input) { return input.value === String(value); })[0];
    if (!found) return false;
    found.checked = true;
    if (!silent) fire(found, "change");
    return true;
  }

  function toggleOption(name, j) {
    var box = inputsNamed(name)[j];
    if (!box) return null;
    box.checked = !box.checked;
    fire(box, "change");
    return box;
  }

  // One answer as the server wants it (undefined: not answered).
  function readAnswer(q, i) {
    var name = inputName(q, i);
    if (q.type === "text") {
      var box = els.form.elements[name];
      return box && box.value.trim() ? box.value : undefined;
    }
    if (q.type === "multi") {
      var ticked = inputsNamed(name).filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
      return ticked.length ? ticked : undefined;
    }
    var value = radioValue(name);
    if (value === "") return undefined;
    if (q.type === "scale") return Number(value);
    if (q.type === "binary") return value === "true";
    return value;
  }

  function writeAnswer(q, i, value) {
    var name = inputName(q, i);
    if (q.type === "text") {
      if (typeof value === "string" && els.form.elements[name]) els.form.elements[name].value = value;
    } else if (q.type === "multi") {
      if (!Array.isArray(value)) return;
      inputsNamed(name).forEach(function (box) { box.checked = value.indexOf(box.value) !== -1; });
    } else if (value !== null && value !== undefined) {
      setRadio(name, value, true);
    }
  }

  function applyComparisonDraft(draft) {
    var form = els.form;
    var each = function (object, fn) {
      if (!object || typeof object !== "object") return;
      Object.keys(object).forEach(function (id) {
        var i = candidateIndex(id);
        if (i !== -1) fn(i, object[id]);
      });
    };
    if (rankingOn()) each(draft.ranks, function (i, rank) { if (rank !== null && rank !== undefined) rankInput(i).value = String(rank); });
    // `answers` ({id: {question: value}}); drafts saved before schemas kept `ratings` and `flags`.
    var restore = function (i, values) {
      if (!values || typeof values !== "object") return;
      askedQuestions().forEach(function (q) { if (q.name in values) writeAnswer(q, i, values[q.name]); });
    };
    each(draft.ratings, restore);
    each(draft.flags, function (i, list) { restore(i, { flags: list }); });
    each(draft.answers, restore);
    each(draft.safety, function (i, verdict) { setRadio("safety-" + i, verdict, true); });
    if (typeof draft.strength === "string" && form.elements.strength) setRadio("strength", draft.strength, true);
    if (els.allBad) els.allBad.checked = draft.all_bad === true;
    if (typeof draft.rationale === "string") els.rationale.value = draft.rationale;
  }

  // Drag and drop on the ranking list: dropping numbers the answers 1..K in the new order.
  var dragIndex = null;
  root.addEventListener("dragstart", function (event) {
    var item = event.target.closest && event.target.closest(".wb-board-item");
    if (!item || S.phase !== "editing") return;
    dragIndex = Number(item.getAttribute("data-index"));
    item.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", "answer " + (dragIndex + 1));
  });
  root.addEventListener("dragover", function (event) {
    var item = event.target.closest && event.target.closest(".wb-board-item");
    if (!item || dragIndex === null) return;
    event.preventDefault();
    els.board.querySelectorAll(".is-drop-target").forEach(function (node) { node.classList.remove("is-drop-target"); });
    item.classList.add("is-drop-target");
  });
  root.addEventListener("dragend", function () {
    dragIndex = null;
    if (els.board) {
      els.board.querySelectorAll(".is-dragging, .is-drop-target").forEach(function (node) {
        node.classList.remove("is-dragging", "is-drop-target");
      });
    }
  });
  root.addEventListener("drop", function (event) {
    var item = event.target.closest && event.target.closest(".wb-board-item");
    if (!item || dragIndex === null) return;
    event.preventDefault();
    var order = Array.prototype.map.call(els.board.children, function (node) { return Number(node.getAttribute("data-index")); });
    var target = Number(item.getAttribute("data-index"));
    var from = order.indexOf(dragIndex);
    var to = order.indexOf(target);
    order.splice(from, 1);
    order.splice(to, 0, dragIndex);
    order.forEach(function (i, position) { rankInput(i).value = String(position + 1); });
    dragIndex = null;
    renderBoard();
    changed();
    setStatus("Ranking reordered.");
  });

  // Form state, drafts and autosave --------------------------------------------------------------

  function collect() {
    if (!S.task || !els.form) return null;
    if (S.task.kind === "demonstration") {
      return { kind: "demonstration", content: els.answer.value, source_candidate: S.demoSource };
    }
    var state = { kind: "comparison", ranks: {}, answers: {}, safety: {}, strength: "", all_bad: false, rationale: "" };
    var questions = askedQuestions();
    S.task.candidates.forEach(function (candidate, i) {
      var id = String(candidate.id);
      var raw = rankingOn() ? rankInput(i).value.trim() : "";
      if (raw !== "") {
        var rank = Number(raw);
        state.ranks[id] = Number.isInteger(rank) ? rank : raw;
      }
      var values = {};
      questions.forEach(function (q) {
        var value = readAnswer(q, i);
        if (value !== undefined) values[q.name] = value;
      });
      if (Object.keys(values).length) state.answers[id] = values;
      var verdict = radioValue("safety-" + i);
      if (verdict) state.safety[id] = verdict;
    });
    state.strength = radioValue("strength");
    state.all_bad = !!(els.allBad && els.allBad.checked);
    state.rationale = els.rationale.value;
    return state;
  }

  function changed() {
    if (S.phase !== "editing") return;
    if (!S.autosave) return;
    clearTimeout(S.saveTimer);
    S.saveTimer = setTimeout(saveDraft, SAVE_DELAY_MS);
  }

  function saveDraft(keepalive) {
    S.saveTimer = null;
    if (S.phase !== "editing" || !S.autosave || !S.task) return;
    var state = collect();
    var snapshot = JSON.stringify(state);
    if (snapshot === S.lastSaved) return;
    var generation = S.generation;
    setStatus("Saving draft…");
    api("PUT", itemUrl("draft"), state, keepalive === true).then(
      function (result) {
        if (generation !== S.generation || S.phase !== "editing") return; // submitted or moved on meanwhile
        if (result.ok) {
          S.lastSaved = snapshot;
          setStatus("Draft saved " + clock(new Date()) + ".");
        } else if (result.status === 409) {
          S.autosave = false;
          setStatus("");
          showAlert(messageOf(result, "This task is no longer open.") + " Autosave stopped; you can still try to submit.", {
            kind: "info",
            scroll: false,
          });
        } else {
          setStatus("Draft not saved: " + messageOf(result, "error " + result.status) + ".");
        }
      },
      function () {
        if (generation === S.generation) setStatus("Draft not saved (offline?). Your work is still here.");
      }
    );
  }

  function flushDraft() {
    if (S.saveTimer) {
      clearTimeout(S.saveTimer);
      saveDraft(true);
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flushDraft();
  });
  window.addEventListener("pagehide", flushDraft);

  // Submitting -----------------------------------------------------------------------------------

  function clearErrors() {
    if (!els.form) return;
    els.form.querySelectorAll(".field-error").forEach(function (node) {
      node.textContent = "";
      node.hidden = true;
    });
    els.form.querySelectorAll(".has-error").forEach(function (node) { node.classList.remove("has-error"); });
  }

  function fieldError(key, message) {
    var node = els.form.querySelector('[data-error-for="' + CSS.escape(key) + '"]');
    if (!node) return null;
    node.textContent = message;
    node.hidden = false;
    var holder = node.closest(".wb-question, .wb-cand, fieldset, .field, .wb-board-wrap, .wb-allbad");
    if (holder) holder.classList.add("has-error");
    return holder;
  }

  function rankingPayload(state) {
    var payload = { answers: state.answers, rationale: state.rationale };
    if (rankingOn()) payload.ranks = state.ranks;
    if (allBadOn()) payload.all_bad = state.all_bad;
    var ranks = Object.keys(state.ranks).map(function (id) { return state.ranks[id]; });
    var tie = ranks.length === 2 && ranks[0] === ranks[1];
    if (state.strength && !tie && strengthLevels().length) payload.strength = state.strength;
    if (S.task.needs_safety || Object.keys(state.safety).length) payload.safety = state.safety;
    return payload;
  }

  // What is missing per answer, in the labeler's words (the server's messages name candidate ids).
  // The same rules as the server's (rubric.Schema.validate_comparison); the server has the last word.
  function markIncomplete(state) {
    var first = null;
    var count = S.task.candidates.length;
    var questions = askedQuestions();
    S.task.candidates.forEach(function (candidate, i) {
      var id = String(candidate.id);
      var missing = [];
      if (rankingOn()) {
        if (!(id in state.ranks) && !state.all_bad) missing.push("rank");
        else if (id in state.ranks && rankOf(i) === null) missing.push("a rank from 1 to " + count);
      }
      questions.forEach(function (q) {
        if (q.required && !(state.answers[id] && q.name in state.answers[id])) missing.push(q.label);
      });
      if (S.task.needs_safety && !state.safety[id]) missing.push("safety");
      if (missing.length) {
        var holder = fieldError("cand-" + i, "Missing: " + missing.join(", ") + ".");
        if (!first) first = holder;
      }
    });
    return first;
  }

  function submit() {
    if (!S.task || S.phase !== "editing") return;
    clearTimeout(S.saveTimer);
    S.saveTimer = null;
    clearErrors();
    var state = collect();
    var url;
    var body;
    if (S.task.kind === "demonstration") {
      if (!state.content.trim()) {
        fieldError("content", "Write the answer first.");
        els.answer.focus();
        return;
      }
      url = itemUrl("demonstration");
      body = { content: state.content };
      if (S.demoSource !== null) body.source_candidate = S.demoSource;
    } else {
      url = itemUrl("ranking");
      body = rankingPayload(state);
    }
    var generation = S.generation;
    var taskId = S.task.id;
    S.phase = "submitting";
    els.submit.disabled = true;
    els.submit.setAttribute("aria-busy", "true");
    setStatus("Submitting…");
    api("POST", url, body).then(
      function (result) {
        if (generation !== S.generation) return;
        if (result.status === 200 || result.status === 201) {
          S.phase = "done";
          document.body.dispatchEvent(new CustomEvent("wb-submitted"));
          loadNext().then(function () { setStatus("Task #" + taskId + " submitted."); });
        } else if (result.status === 409) {
          goStale(result);
        } else if (result.status === 400) {
          backToEditing();
          showValidation(result, state);
        } else {
          backToEditing();
          showAlert(messageOf(result, "The server said no (error " + result.status + ")."), { title: "Not submitted" });
        }
      },
      function () {
        if (generation !== S.generation) return;
        backToEditing();
        showAlert("The server could not be reached, so nothing was submitted. Your work is still here: try again.", {
          title: "Not submitted",
        });
      }
    );
  }

  function backToEditing() {
    S.phase = "editing";
    els.submit.disabled = false;
    els.submit.removeAttribute("aria-busy");
    setStatus("");
  }

  function fieldLabel(key) {
    var q = S.task && S.task.kind === "comparison" ? questionNamed(key) : null;
    return q ? q.label : FIELD_NAMES[key] || key;
  }

  // A server message about question `name` goes beside that question in the answer it names
  // ("Candidate 12: …", "… (12 is missing)"), or beside it in every answer when it names none.
  function questionErrors(q, messages) {
    var first = null;
    var byIndex = {};
    messages.forEach(function (message) {
      var match = /^Candidate (\d+): /.exec(message) || /\((\d+) is missing\)/.exec(message);
      var i = match ? candidateIndex(match[1]) : -1;
      var text = message.replace(/^Candidate \d+: /, "").replace(/ \(\d+ is missing\)/, "");
      var targets = i === -1 ? S.task.candidates.map(function (c, j) { return j; }) : [i];
      targets.forEach(function (j) { (byIndex[j] = byIndex[j] || []).push(text); });
    });
    Object.keys(byIndex).forEach(function (i) {
      var holder = fieldError(inputName(q, i), byIndex[i].join(" "));
      first = first || holder;
    });
    return first;
  }

  function showValidation(result, state) {
    var fields = (result.data && result.data.extra && result.data.extra.fields) || {};
    var items = Object.keys(fields).map(function (key) {
      var value = fields[key];
      return fieldLabel(key) + ": " + (Array.isArray(value) ? value.join(" ") : String(value));
    });
    showAlert(messageOf(result, "Some answers are missing."), { title: "Not submitted yet", items: items });
    var first = null;
    if (S.task.kind === "demonstration") {
      if (fields.content) first = fieldError("content", [].concat(fields.content).join(" "));
    } else {
      Object.keys(fields).forEach(function (key) {
        var messages = [].concat(fields[key]).map(String);
        var q = questionNamed(key);
        var holder = q ? questionErrors(q, messages) : fieldError(key, messages.join(" "));
        first = first || holder;
      });
      first = markIncomplete(state) || first;
    }
    if (first) first.scrollIntoView({ block: "nearest" });
  }

  function answerText(q, value) {
    if (value === undefined) return "—";
    if (q.type === "binary") return value ? "yes" : "no";
    if (Array.isArray(value)) return value.join(", ");
    return String(value);
  }

  function summaryText() {
    var state = collect();
    if (state.kind === "demonstration") return state.content;
    var lines = S.task.candidates.map(function (candidate, i) {
      var id = String(candidate.id);
      var values = state.answers[id] || {};
      var parts = ["Answer " + (i + 1) + (rankingOn() ? ": rank " + (state.ranks[id] === undefined ? "—" : state.ranks[id]) : ":")];
      askedQuestions().forEach(function (q) { parts.push(q.label + " " + answerText(q, values[q.name])); });
      if (state.safety[id]) parts.push(state.safety[id]);
      return parts.join(", ");
    });
    var level = strengthLevels().filter(function (l) { return l.name === state.strength; })[0];
    if (level) lines.push("Strength: " + level.label);
    if (state.all_bad) lines.push("All answers are bad.");
    if (state.rationale) lines.push("Rationale: " + state.rationale);
    return lines.join("\n");
  }

  // The task can no longer take a label: say so, keep the work on screen read-only, offer a copy.
  function goStale(result) {
    S.phase = "stale";
    clearTimeout(S.saveTimer);
    S.saveTimer = null;
    clearInterval(S.leaseTimer);
    setStatus("");
    var form = els.form;
    Array.prototype.forEach.call(form.elements, function (control) {
      if (control.tagName === "TEXTAREA") control.readOnly = true;
      else control.disabled = true;
    });
    form.classList.add("is-stale");
    var copyTarget;
    if (S.task.kind === "demonstration") {
      copyTarget = "#wb-answer";
    } else {
      var kept = h("textarea", { id: "wb-kept", class: "wb-kept", rows: "6", readonly: true, "aria-label": "Your ranking, as text" });
      kept.value = summaryText();
      form.append(h("div", { class: "field" }, h("label", { for: "wb-kept", text: "Your ranking (not saved)" }), kept));
      copyTarget = "#wb-kept";
    }
    var copy = h("button", { type: "button", class: "button", "data-copy-target": copyTarget, text: "Copy your text" });
    var next = h("button", { type: "button", class: "button button-primary", "data-action": "next", text: "Get the next task" });
    showAlert(messageOf(result, "This task can no longer be submitted."), {
      kind: "stale",
      title: "Not saved",
      items: ["Your work is still below, read-only: copy it before you move on."],
      actions: [copy, next],
    });
    copy.focus({ preventScroll: true });
  }

  // Skipping -------------------------------------------------------------------------------------

  function openDialog(dialog, focusTarget) {
    if (dialog.open) return;
    S.returnFocus = document.activeElement;
    dialog.showModal();
    if (focusTarget) focusTarget.focus();
  }

  [helpDialog, skipDialog].forEach(function (dialog) {
    dialog.addEventListener("close", function () {
      var target = S.returnFocus;
      S.returnFocus = null;
      if (target && document.contains(target) && typeof target.focus === "function") target.focus({ preventScroll: true });
    });
    dialog.addEventListener("click", function (event) {
      if (event.target.closest("[data-close-dialog]")) dialog.close();
    });
  });

  function openSkip() {
    if (!S.task || S.phase !== "editing") return;
    skipError.hidden = true;
    skipError.textContent = "";
    skipReason.value = "";
    skipSubmit.disabled = false;
    openDialog(skipDialog, skipReason);
  }

  skipDialog.addEventListener("click", function (event) {
    var pick = event.target.closest("[data-skip-reason]");
    if (!pick) return;
    skipReason.value = pick.getAttribute("data-skip-reason");
    skipReason.focus();
  });

  skipForm.addEventListener("submit", function (event) {
    event.preventDefault();
    doSkip();
  });

  function skipFailed(message) {
    skipError.textContent = message;
    skipError.hidden = false;
    skipReason.focus();
  }

  function doSkip() {
    if (S.skipping || !S.task || S.phase !== "editing") return;
    var reason = skipReason.value.trim();
    if (!reason) {
      skipFailed("Say why you skip (one line helps the admins).");
      return;
    }
    clearTimeout(S.saveTimer);
    S.saveTimer = null;
    S.skipping = true;
    S.phase = "submitting";
    skipSubmit.disabled = true;
    var generation = S.generation;
    var taskId = S.task.id;
    api("POST", itemUrl("skip"), { reason: reason }).then(
      function (result) {
        S.skipping = false;
        skipSubmit.disabled = false;
        if (generation !== S.generation) return;
        if (result.ok) {
          S.returnFocus = null;
          skipDialog.close();
          document.body.dispatchEvent(new CustomEvent("wb-submitted"));
          loadNext().then(function () { setStatus("Task #" + taskId + " skipped."); });
        } else if (result.status === 409) {
          skipDialog.close();
          goStale(result);
        } else {
          S.phase = "editing";
          skipFailed(messageOf(result, "The skip was refused (error " + result.status + ")."));
        }
      },
      function () {
        S.skipping = false;
        skipSubmit.disabled = false;
        if (generation !== S.generation) return;
        S.phase = "editing";
        skipFailed("The server could not be reached. Try again.");
      }
    );
  }

  // Selection and keyboard -----------------------------------------------------------------------

  function select(i, moveFocus) {
    if (!els.cards || !els.cards[i]) return false;
    S.selected = i;
    els.cards.forEach(function (card, j) {
      card.classList.toggle("is-selected", j === i);
      card.setAttribute("aria-current", j === i ? "true" : "false");
    });
    if (moveFocus) {
      var target = S.task.kind === "demonstration" ? els.cards[i].querySelector("[data-action='start-from']") : els.cards[i];
      target.focus({ preventScroll: true });
      els.cards[i].scrollIntoView({ block: "nearest" });
    }
    return true;
  }

  function cancelPending() {
    clearTimeout(S.pendingTimer);
    S.pending = null;
    setKeys("");
  }

  // S.pending: "r" (rank), "p" (strength), "q:<question name>" waiting for a digit, or "10:<question name>"
  // (a scale that reaches 10 just got a 1: a 0 now makes it 10).
  function pendingText(key, n) {
    if (key === "r") return "Rank of answer " + n + ": press 1–" + S.task.candidates.length;
    if (key === "p") return "Preference strength: press 1–" + strengthLevels().length;
    var q = questionNamed(key.slice(2));
    return q.label + " of answer " + n + ": press " + digitsText(q);
  }

  function startPending(key) {
    cancelPending();
    S.pending = key;
    setKeys(pendingText(key, S.selected + 1) + " (Esc cancels)", true);
    S.pendingTimer = setTimeout(cancelPending, PENDING_MS);
  }

  function applyPending(digit) {
    var key = S.pending;
    var i = S.selected;
    var n = i + 1;
    cancelPending();
    var count = S.task.candidates.length;
    if (key === "r") {
      if (digit < 1 || digit > count) return setKeys("Ranks go from 1 to " + count + ".");
      setRank(i, digit);
      setKeys("Answer " + n + ": rank " + digit + ".");
    } else if (key === "p") {
      var levels = strengthLevels();
      var level = levels[digit - 1];
      if (!level) return setKeys("Strength goes from 1 to " + levels.length + ".");
      setRadio("strength", level.name);
      setKeys("Strength: " + level.label + ".");
    } else if (key.indexOf("10:") === 0) {
      setRadio(inputName(questionNamed(key.slice(3)), i), 10); // "1" then "0" on a scale that reaches 10
      setKeys("Answer " + n + ": " + questionNamed(key.slice(3)).label + " 10.");
    } else if (key) {
      answerByDigit(questionNamed(key.slice(2)), i, digit);
    }
  }

  // A digit after a question's key: the point of a scale, yes (1) / no (2), the N-th option.
  function answerByDigit(q, i, digit) {
    var name = inputName(q, i);
    var prefix = "Answer " + (i + 1) + ": " + q.label + " ";
    if (q.type === "scale") {
      if (digit < q.min || digit > q.max) return setKeys(q.label + " goes from " + q.min + " to " + q.max + ".");
      setRadio(name, digit);
      setKeys(prefix + digit + ".");
      if (digit === 1 && q.max >= 10) {
        // A scale up to 10: a 0 right after the 1 makes it 10.
        S.pending = "10:" + q.name;
        S.pendingTimer = setTimeout(cancelPending, PENDING_MS / 4);
        setKeys(prefix + "1 (press 0 now for 10).", true);
      }
      return;
    }
    if (q.type === "binary") {
      if (digit !== 1 && digit !== 2) return setKeys(q.label + ": press 1 for yes, 2 for no.");
      setRadio(name, digit === 1 ? "true" : "false");
      return setKeys(prefix + (digit === 1 ? "yes." : "no."));
    }
    var option = (q.options || [])[digit - 1];
    if (option === undefined) return setKeys(q.label + " has no option " + digit + ".");
    if (q.type === "choice") {
      setRadio(name, option);
      return setKeys(prefix + "“" + option + "”.");
    }
    var box = toggleOption(name, digit - 1);
    setKeys(prefix + "“" + option + "” " + (box.checked ? "ticked" : "unticked") + ".");
  }

  // A question's key: a digit follows, or (text questions) the cursor goes to its box.
  function questionKey(q) {
    if (!needSelection()) return;
    if (q.type !== "text") return startPending("q:" + q.name);
    var box = els.form.elements[inputName(q, S.selected)];
    if (box) box.focus();
  }

  function selectedHint(n) {
    var parts = rankingOn() ? ["r rank"] : [];
    askedQuestions().forEach(function (q) { parts.push(q.key + " " + q.label); });
    if (S.task.needs_safety) parts.push("s/u safety");
    return "Answer " + n + " selected" + (parts.length ? ": " + parts.join(" · ") : "") + ".";
  }

  // -1 when the key is not a digit.
  function digitOf(event) {
    var match = /^(?:Digit|Numpad)([0-9])$/.exec(event.code || "");
    if (match) return Number(match[1]);
    return /^[0-9]$/.test(event.key) ? Number(event.key) : -1;
  }

  function needSelection() {
    if (S.selected >= 0) return true;
    setKeys("Select an answer first: press 1–" + S.task.candidates.length + ".");
    return false;
  }

  function focusText() {
    var target = S.task.kind === "demonstration" ? els.answer : els.rationale;
    target.focus();
  }

  function onEscape(event) {
    if (S.pending) {
      cancelPending();
      event.preventDefault();
      return;
    }
    var active = document.activeElement;
    if (active && root.contains(active) && active !== document.getElementById("wb-task-title")) {
      var card = active.closest(".wb-cand");
      if (card && card !== active) card.focus({ preventScroll: true });
      else if (!card) {
        var title = document.getElementById("wb-task-title");
        if (title) title.focus({ preventScroll: true });
      }
    }
  }

  // The comparison's letter keys: the fixed ones (RESERVED_KEYS in rubric.py), then the questions'.
  function comparisonKey(event, key) {
    var q = questionByKey(key);
    if (q) {
      event.preventDefault();
      questionKey(q);
      return;
    }
    switch (key) {
      case "r":
        event.preventDefault();
        if (!rankingOn()) setKeys("This project asks for no ranking.");
        else if (needSelection()) startPending("r");
        return;
      case "p":
        event.preventDefault();
        if (strengthLevels().length) startPending("p");
        else setKeys(S.task.candidates.length === 2 ? "This project asks no preference strength." : "Preference strength is only for two answers.");
        return;
      case "s":
      case "u":
        event.preventDefault();
        if (!S.task.needs_safety) setKeys("This task needs no safety verdict.");
        else if (needSelection()) {
          var verdict = key === "s" ? "safe" : "unsafe";
          setRadio("safety-" + S.selected, verdict);
          setKeys("Answer " + (S.selected + 1) + ": " + verdict + ".");
        }
        return;
      case "b":
        event.preventDefault();
        if (!els.allBad) return setKeys("This project has no “all answers are bad”.");
        els.allBad.checked = !els.allBad.checked;
        fire(els.allBad, "change");
        setKeys(els.allBad.checked ? "Marked: all answers are bad." : "Unmarked: all answers are bad.");
        return;
      default:
        return;
    }
  }

  // Digits: after a pending key, its value; with Shift, the rank; alone, select answer N.
  function digitKey(event, digit) {
    var comparison = S.task.kind === "comparison";
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

  function onKeydown(event) {
    if (event.isComposing || event.defaultPrevented) return;
    var submitKey = (event.ctrlKey || event.metaKey) && event.key === "Enter";
    if (skipDialog.open) {
      if (submitKey) {
        event.preventDefault();
        doSkip();
      }
      return; // Esc closes the dialog natively
    }
    if (helpDialog.open) {
      if (event.key === "?") {
        event.preventDefault();
        helpDialog.close();
      }
      return;
    }
    if (submitKey) {
      event.preventDefault();
      submit();
      return;
    }
    if (event.key === "Escape") {
      onEscape(event);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) return;
    if (event.key === "?") {
      event.preventDefault();
      openDialog(helpDialog, helpDialog.querySelector("[data-close-dialog]"));
      return;
    }
    if (!S.task || S.phase !== "editing") return;
    if (event.key === "Shift") return;
    var digit = digitOf(event);
    if (S.pending) {
      var tens = S.pending.indexOf("10:") === 0;
      if (digit !== -1 && !event.shiftKey && (!tens || digit === 0)) {
        event.preventDefault();
        applyPending(digit);
        return;
      }
      cancelPending();
    }
    if (digit !== -1) return digitKey(event, digit);
    var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (event.key !== key && event.shiftKey && event.key.length === 1) return; // Shift+letter: not ours
    if (key === "k") {
      event.preventDefault();
      openSkip();
    } else if (key === "e") {
      event.preventDefault();
      focusText();
    } else if (S.task.kind === "comparison") {
      comparisonKey(event, key);
    }
  }

  document.addEventListener("keydown", onKeydown);

  // Events in the task area -----------------------------------------------------------------------

  root.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (button && !button.disabled) {
      var action = button.getAttribute("data-action");
      if (action === "next") loadNext();
      else if (action === "skip") openSkip();
      else if (action === "start-from") startFrom(Number(button.getAttribute("data-index")));
      else if (action === "clear-source") clearSource();
      else if (action === "undo-source") undoSource();
      return;
    }
    var card = event.target.closest(".wb-cand");
    if (card && S.phase === "editing") select(Number(card.getAttribute("data-index")), false);
  });

  alertBox.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action='next']");
    if (button) loadNext();
  });

  root.addEventListener("focusin", function (event) {
    var card = event.target.closest(".wb-cand");
    if (card && S.task) select(Number(card.getAttribute("data-index")), false);
  });

  root.addEventListener("submit", function (event) {
    event.preventDefault();
    // Enter in a small field submits a form implicitly (no submitter): only the button or Ctrl+Enter do.
    if (event.submitter) submit();
  });

  function onChange(event) {
    if (!els.form || !els.form.contains(event.target)) return;
    var flagged = event.target.closest(".has-error");
    if (flagged) {
      flagged.classList.remove("has-error");
      flagged.querySelectorAll(".field-error").forEach(function (node) { node.hidden = true; });
    }
    if (event.target.classList.contains("wb-rank-input")) renderBoard();
    if (event.target === els.answer && S.demoSource !== null && S.undo) {
      S.undo = null; // once edited, undoing the start would lose the edits
      updateSourceNote();
    }
    changed();
  }
  root.addEventListener("input", onChange);
  root.addEventListener("change", function (event) {
    if (event.target.type === "radio" || event.target.type === "checkbox") onChange(event);
  });

  document.getElementById("wb-help-button").addEventListener("click", function () {
    openDialog(helpDialog, helpDialog.querySelector("[data-close-dialog]"));
  });

  // The guidelines panel remembers whether it is open, and the task area widens when it is shut.
  if (guidelines && workbench) {
    var storageKey = "labelhub.workbench.guidelines." + config.projectId;
    try {
      if (window.localStorage.getItem(storageKey) === "closed") guidelines.open = false;
    } catch (err) {
      // storage disabled: the panel starts open
    }
    var syncPanel = function () {
      workbench.classList.toggle("is-guidelines-closed", !guidelines.open);
      try {
        window.localStorage.setItem(storageKey, guidelines.open ? "open" : "closed");
      } catch (err) {
        // ignore
      }
    };
    guidelines.addEventListener("toggle", syncPanel);
    syncPanel();
  }

  loadNext();
})();
