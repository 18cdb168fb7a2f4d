/** Canned responses: the list the composer's /shortcuts offer; adding and deleting them. */

import { api } from "../api.js";
import { set } from "../store.js";
import { toast } from "./toasts.js";

export async function loadCanned() {
  try {
    const data = await api.canned();
    set({ canned: data.canned_responses || [] });
  } catch (_) {
    // the composer simply offers nothing
  }
}

export async function addCanned(shortcut, text) {
  try {
    const data = await api.addCanned(shortcut.replace(/^\//, ""), text);
    set((s) => ({ canned: s.canned.concat(data.canned_response).sort((a, b) => a.shortcut.localeCompare(b.shortcut)) }));
    return null;
  } catch (error) {
    if (error.status === 409) return `The shortcut /${shortcut.replace(/^\//, "")} already exists.`;
    return error.message;
  }
}

export async function deleteCanned(id) {
  try {
    await api.deleteCanned(id);
    set((s) => ({ canned: s.canned.filter((c) => c.id !== id) }));
  } catch (error) {
    toast(error.message, "error");
  }
}
