/**
 * Live visitors (agents and admins): who is on the site now, refreshed when the
 * server says it changed (`live_visitors_changed`), and starting a chat with one.
 */

import { api } from "../api.js";
import { loadedText } from "../format.js";
import { getState, set } from "../store.js";
import { go } from "./bus.js";
import { toast } from "./toasts.js";

let refreshTimer = null;

export function showLive() {
  set({ section: "live", pane: "list" });
  loadLive();
}

const PAGE = 100;
const MAX_PAGE = 500;

/** The first page again, as long as what is shown now (so a refresh keeps the pages loaded). */
export async function loadLive() {
  const shown = getState().live.visitors.length;
  try {
    const data = await api.liveVisitors(undefined, Math.min(MAX_PAGE, Math.max(PAGE, shown)));
    set((s) => ({
      live: { ...s.live, visitors: data.visitors, next: data.next_cursor || null, total: data.total,
        loaded: true, error: "" },
    }));
  } catch (error) {
    set((s) => ({ live: { ...s.live, loaded: true, error: error.message } }));
  }
}

/** The next page of visitors (longest on the site first). */
export async function loadMoreLive() {
  const live = getState().live;
  if (!live.next || live.loading) return;
  set((s) => ({ live: { ...s.live, loading: true } }));
  try {
    const data = await api.liveVisitors(live.next, PAGE);
    set((s) => {
      const known = new Set(s.live.visitors.map((v) => v.visitor_id));
      const visitors = s.live.visitors.concat(data.visitors.filter((v) => !known.has(v.visitor_id)));
      const next = data.next_cursor || null;
      const status = loadedText(data.visitors.length, visitors.length, !!next, "visitors");
      return { live: { ...s.live, visitors, next, total: data.total, loading: false, status } };
    });
  } catch (error) {
    set((s) => ({ live: { ...s.live, loading: false } }));
    toast(error.message, "error");
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
