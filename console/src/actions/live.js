/**
 * Live visitors (agents and admins): who is on the site now, refreshed when the
 * server says it changed (`live_visitors_changed`), and starting a chat with one.
 */

import { api } from "../api.js";
import { getState, set } from "../store.js";
import { go } from "./navigation.js";
import { toast } from "./toasts.js";

let refreshTimer = null;

export function showLive() {
  set({ section: "live", pane: "list" });
  loadLive();
}

export async function loadLive() {
  try {
    const data = await api.liveVisitors();
    set({ live: { visitors: data.visitors, loaded: true, error: "" } });
  } catch (error) {
    set((s) => ({ live: { ...s.live, loaded: true, error: error.message } }));
  }
}

/** The server says who is on the site changed: refetch (coalescing bursts). */
export function liveVisitorsChanged() {
  if (getState().section !== "live" || refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    loadLive();
  }, 500);
}

/** Write first to a visitor; opens the conversation. Returns an error text or null. */
export async function startChat(visitorId, text) {
  try {
    const { conversation_id: cid } = await api.startChat(visitorId, text);
    toast("Chat started.", "ok");
    go(`c/${cid}`);
    return null;
  } catch (error) {
    loadLive();
    return error.message;
  }
}
