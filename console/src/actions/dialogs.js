/** The open dialog (transfer, canned responses, settings): one at a time, fresh data on opening. */

import { set } from "../store.js";
import { loadAgents } from "./agents.js";
import { loadCanned } from "./canned.js";

export function openDialog(type, extra) {
  if (type === "transfer") loadAgents();
  if (type === "canned") loadCanned();
  set({ dialog: { type, ...(extra || {}) } });
}

export function closeDialog() {
  set({ dialog: null });
}
