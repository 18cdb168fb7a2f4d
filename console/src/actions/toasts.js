/** Toasts: short messages about what an action did or why it failed (the store's `toasts`). */

import { set } from "../store.js";

let toastSeq = 0;

/** Show `text`; `extra.undo` (a conversation id) adds an Undo button. Returns the toast's id. */
export function toast(text, kind, ms, extra) {
  const id = ++toastSeq;
  set((s) => {
    // The four latest, and every Undo whatever came after it.
    const all = s.toasts.concat({ id, text, kind: kind || "info", ...(extra || {}) });
    return { toasts: all.filter((t, i) => t.undo !== undefined || i >= all.length - 4) };
  });
  setTimeout(() => dismissToast(id), ms || (kind === "error" ? 8000 : 4000));
  return id;
}

export function dismissToast(id) {
  set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
}
