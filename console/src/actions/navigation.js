/**
 * Navigation: the URL hash holds the view or the selected conversation
 * (`#/queue`, `#/followups`, `#/c/12`, `#/c/12/visitor`), so a reload keeps it
 * and phones get a working back button. `route` applies the hash.
 */

import { VIEWS } from "../protocol.gen.js";
import { getState, set } from "../store.js";
import { select } from "./conversation.js";
import { showDashboard } from "./dashboard.js";
import { showLive } from "./live.js";
import { showWebhooks } from "./webhooks.js";
import { showDevMail } from "./dev_mail.js";
import { showTeam } from "./team.js";
import { showSegments } from "./segments.js";
import { showCampaigns } from "./campaigns.js";
import { loadFollowups } from "./followups.js";
import { upsert } from "./summaries.js";
import { answer, go } from "./bus.js";
import { summary } from "./shared.js";

export { go };

/** Apply the hash (on `hashchange` and at the start of a session). */
export function route() {
  if (getState().boot !== "ready") return;
  const me = getState().me || {};
  const path = location.hash.replace(/^#\/?/, "").split("?")[0];
  const parts = path.split("/").filter(Boolean);
  // Segments and campaigns: admins and marketers.
  if ((parts[0] === "segments" || parts[0] === "campaigns") && canSeeAnalytics(me)) {
    const id = parts[1] === "new" || /^\d+$/.test(parts[1] || "") ? parts[1] : undefined;
    if (parts[0] === "segments") showSegments(id);
    else showCampaigns(id, id !== undefined && id !== "new" && parts[2] === "results", location.hash);
    return;
  }
  // Marketers see analytics, segments and campaigns only; agents never see the dashboard.
  if ((path === "dashboard" && canSeeAnalytics(me)) || me.role === "marketer") {
    showDashboard(location.hash);
    return;
  }
  if (path === "webhooks" && me.role === "admin") {
    showWebhooks();
    return;
  }
  // The development mail catcher: a 404 from its endpoint sends the admin back to the inbox.
  if (path === "mail" && me.role === "admin") {
    showDevMail();
    return;
  }
  if (path === "agents" && me.role === "admin") {
    showTeam();
    return;
  }
  if (path === "live") {
    showLive();
    return;
  }
  set({ section: "inbox" });
  if (parts[0] === "c" && /^\d+$/.test(parts[1] || "")) {
    select(Number(parts[1]), parts[2] === "visitor" ? "visitor" : "chat");
    return;
  }
  const view = parts[0] === "followups" || VIEWS.includes(parts[0]) ? parts[0] : null;
  if (view) set({ view, pane: "list" });
  else set({ pane: "list" });
  if (view === "followups") loadFollowups(getState().followupStatus);
}

/** Admins and marketers see the dashboard. */
export function canSeeAnalytics(me) {
  return !!me && (me.role === "admin" || me.role === "marketer");
}

export function back() {
  go(getState().view);
}

export function setView(view) {
  go(view);
}

/** Open a conversation known only from a visitor's history. */
export function openConversation(c) {
  if (c && !summary(c.id)) upsert(c);
  go(`c/${c.id}`);
}

export function showVisitor(cid) {
  go(`c/${cid}/visitor`);
}

export function showChat(cid) {
  go(`c/${cid}`);
}

answer("route", route);
