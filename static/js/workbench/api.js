// The JSON API: fetch with the session and the CSRF token; every answer becomes {status, ok, data}.
//
//   POST {nextUrl}                      → 200 task | 204 nothing left | 409 guidelines to acknowledge
//   PUT  {itemUrl}{id}/draft            ← autosave, ~1 s after the last change (never after submit)
//   POST {itemUrl}{id}/demonstration    ← {content, source_candidate?}
//   POST {itemUrl}{id}/ranking          ← {ranks?, all_bad?, answers, strength?, safety?, rationale}
//   POST {itemUrl}{id}/skip             ← {reason}

import { config, S } from "./state.js";

export async function api(method, url, body, keepalive) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    keepalive: !!keepalive,
    headers: {
      Accept: "application/json",
      "Content-Type": "application/json",
      "X-CSRFToken": config.csrfToken,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return { status: 204, ok: true, data: null };
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null; // not JSON (a proxy's error page): the caller falls back to its own message
  }
  return { status: response.status, ok: response.ok, data };
}

// The current task's URL for `action` (draft, demonstration, ranking, skip).
export function itemUrl(action) {
  return config.itemUrl + S.task.id + "/" + action;
}

export function messageOf(result, fallback) {
  return (result && result.data && result.data.message) || fallback;
}
