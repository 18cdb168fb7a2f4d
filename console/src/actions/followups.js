/** Follow-ups (messages left while nobody was online): loading by status, marking done, `followup_created`. */

import { api } from "../api.js";
import { loadedText } from "../format.js";
import { getState, set } from "../store.js";
import { toast } from "./toasts.js";

/** The first page of follow-ups with `status` (newest first). */
export async function loadFollowups(status) {
  const wanted = status || getState().followupStatus;
  set({ followupStatus: wanted, followupsLoading: true });
  try {
    const data = await api.followups(wanted);
    if (getState().followupStatus === wanted) {
      set({
        followups: data.followups || [],
        followupsLoading: false,
        followupsPage: { next: data.next_cursor || null, loading: false, status: "" },
      });
    }
  } catch (error) {
    set({ followupsLoading: false });
    if (error.status !== 401) toast(error.message, "error");
  }
}

/** The next page, after the cursor (new follow-ups arrive at the top by event). */
export async function loadMoreFollowups() {
  const { followupStatus: wanted, followupsPage: page } = getState();
  if (!page.next || page.loading) return;
  set({ followupsPage: { ...page, loading: true } });
  try {
    const data = await api.followups(wanted, page.next);
    if (getState().followupStatus !== wanted) return;
    const list = data.followups || [];
    const next = data.next_cursor || null;
    set((s) => {
      const known = new Set(s.followups.map((f) => f.id));
      const followups = s.followups.concat(list.filter((f) => !known.has(f.id)));
      const status = loadedText(list.length, followups.length, !!next, "follow-ups");
      return { followups, followupsPage: { next, loading: false, status } };
    });
  } catch (error) {
    set((s) => ({ followupsPage: { ...s.followupsPage, loading: false } }));
    toast(error.message, "error");
  }
}

export async function followupDone(id) {
  try {
    const data = await api.followupDone(id);
    set((s) => ({
      followups: s.followupStatus === "open"
        ? s.followups.filter((f) => f.id !== id)
        : s.followups.map((f) => (f.id === id ? data.followup : f)),
    }));
    toast("Follow-up marked as done.", "ok");
  } catch (error) {
    toast(error.message, "error");
  }
}

/** Server event `followup_created`. */
export function followupCreated(f) {
  if (!f || typeof f.id !== "number") return;
  set((s) => (s.followupStatus === "open" && !s.followups.some((x) => x.id === f.id)
    ? { followups: [f].concat(s.followups) }
    : null));
  toast(`New follow-up from ${f.email || "a visitor"}.`, "info");
}
