/**
 * Composer drafts kept in the browser (localStorage), one per agent and
 * conversation: `{mode: "reply" | "note", text}`. They survive a reload and
 * are removed when sent, and all of an agent's drafts go when that agent signs
 * out (a shared computer keeps nothing for the next person). Pure storage: no
 * store, no DOM; `storage` is injectable and every failure (private mode, a
 * full quota) just means no draft.
 */

const PREFIX = "rapport.draft.";
export const MODES = ["reply", "note"];
const EMPTY = Object.freeze({ mode: "reply", text: "" });

function local() {
  try {
    return globalThis.localStorage || null;
  } catch (_) {
    return null; // access denied
  }
}

export function draftKey(agentId, cid) {
  return `${PREFIX}${agentId}.${cid}`;
}

/** The saved draft, or an empty reply. */
export function loadDraft(agentId, cid, storage = local()) {
  if (!storage || agentId == null) return EMPTY;
  try {
    const raw = JSON.parse(storage.getItem(draftKey(agentId, cid)) || "null");
    if (!raw || typeof raw !== "object") return EMPTY;
    return {
      mode: MODES.includes(raw.mode) ? raw.mode : "reply",
      text: typeof raw.text === "string" ? raw.text : "",
    };
  } catch (_) {
    return EMPTY;
  }
}

/** Keep `draft`; an empty reply is no draft at all. */
export function saveDraft(agentId, cid, draft, storage = local()) {
  if (!storage || agentId == null) return;
  const mode = MODES.includes(draft.mode) ? draft.mode : "reply";
  const text = draft.text || "";
  try {
    if (!text && mode === "reply") storage.removeItem(draftKey(agentId, cid));
    else storage.setItem(draftKey(agentId, cid), JSON.stringify({ mode, text, at: Date.now() }));
  } catch (_) {
    // quota or private mode: the draft lives as long as the page
  }
}

/** Forget drafts of `agentId` untouched for `maxAgeMs` (a conversation long over). */
export function pruneDrafts(agentId, maxAgeMs, now = Date.now(), storage = local()) {
  if (!storage || agentId == null) return;
  const prefix = `${PREFIX}${agentId}.`;
  try {
    const old = [];
    for (let i = 0; i < storage.length; i += 1) {
      const key = storage.key(i);
      if (!key || !key.startsWith(prefix)) continue;
      let at = 0;
      try {
        at = Number(JSON.parse(storage.getItem(key)).at) || 0;
      } catch (_) {
        at = 0; // unreadable: old
      }
      if (now - at > maxAgeMs) old.push(key);
    }
    for (const key of old) storage.removeItem(key);
  } catch (_) {
    // nothing stored
  }
}

/** Forget every draft of `agentId` (signing out). */
export function clearDrafts(agentId, storage = local()) {
  if (!storage || agentId == null) return;
  const prefix = `${PREFIX}${agentId}.`;
  try {
    const keys = [];
    for (let i = 0; i < storage.length; i += 1) {
      const key = storage.key(i);
      if (key && key.startsWith(prefix)) keys.push(key);
    }
    for (const key of keys) storage.removeItem(key);
  } catch (_) {
    // nothing stored
  }
}
