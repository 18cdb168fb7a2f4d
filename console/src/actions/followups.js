/** Follow-ups (messages left while nobody was online): loading by status, marking done, `followup_created`. */

import { api } from "../api.js";
import { getState, set } from "../store.js";
import { toast } from "./toasts.js";

export async function loadFollowups(status) {
  const wanted = status || getState().followupStatus;
  set({ followupStatus: wanted, followupsLoading: true });
  try {
    const data = await api.followups(wanted);
    if (getState().followupStatus === wanted) set({ followups: data.followups || [], followupsLoading: false });
  } catch (error) {
    set({ followupsLoading: false });
    if (error.status !== 401) toast(error.message, "error");
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
