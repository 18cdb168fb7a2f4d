/** Toasts: short messages about what an action did or why it failed (the store's `toasts`). */

import { set } from "../store.js";

let toastSeq = 0;

export function toast(text, kind, ms) {
  const id = ++toastSeq;
  set((s) => ({ toasts: s.toasts.concat({ id, text, kind: kind || "info" }).slice(-4) }));
  setTimeout(() => dismissToast(id), ms || (kind === "error" ? 8000 : 4000));
}

export function dismissToast(id) {
  set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
}
