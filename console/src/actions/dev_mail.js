/**
 * The development mail catcher (admins; only on a server started with
 * DEV_MAIL_CATCHER_PORT, as `make run` does): every email Rapport sent, caught
 * locally. `probeDevMail` runs once at sign-in; a 404 means no catcher, and
 * the section stays hidden.
 */

import { api } from "../api.js";
import { getState, set } from "../store.js";
import { go } from "./bus.js";

const patch = (p) => set((s) => ({ devMail: { ...s.devMail, ...p } }));

/** At sign-in (admins): is there a catcher? Its mail comes along. */
export function probeDevMail() {
  return loadDevMail(true);
}

export function showDevMail() {
  set({ section: "devmail", pane: "list" });
  loadDevMail(false);
}

/** Fetch the caught mail; `quiet` (the probe) keeps errors other than "no catcher" to itself. */
export async function loadDevMail(quiet) {
  patch({ loading: true, status: "" });
  try {
    const { messages } = await api.devMail();
    const d = getState().devMail;
    const selectedId = messages.some((m) => m.id === d.selectedId) ? d.selectedId : messages.length ? messages[0].id : null;
    patch({
      available: true, probed: true, loaded: true, loading: false, error: "", messages, selectedId,
      status: `${messages.length} ${messages.length === 1 ? "email" : "emails"} caught.`,
    });
  } catch (error) {
    if (error.status === 404) {
      patch({ available: false, probed: true, loaded: true, loading: false, messages: [], selectedId: null });
      if (getState().section === "devmail") go("mine");
      return;
    }
    patch({ probed: true, loading: false, ...(quiet ? {} : { error: error.message }) });
  }
}

export function selectMail(id) {
  if (getState().devMail.selectedId !== id) patch({ selectedId: id, showHtml: false });
}

export function setMailHtml(showHtml) {
  patch({ showHtml: !!showHtml });
}
