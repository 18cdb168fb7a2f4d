/**
 * The session: boot (`GET /api/me`), sign in, the forced password change,
 * sign out or losing the session; starting and ending what a session runs
 * (lists, socket, timers); my status (online / away / offline).
 */

import { api, ApiError, setCsrfToken, setUnauthenticatedHandler } from "../api.js";
import * as notify from "../notify.js";
import { SET_STATUS } from "../protocol.gen.js";
import { getState, reset, set } from "../store.js";
import { loadAgents } from "./agents.js";
import { loadCanned } from "./canned.js";
import { forgetDrafts, pruneOldDrafts } from "./composer.js";
import { connect, disconnect } from "./connection.js";
import { onVisibility } from "./conversation.js";
import { loadFollowups } from "./followups.js";
import { anyWaiting, sendWaiting } from "./handoff.js";
import { loadLists } from "./lists.js";
import { route } from "./navigation.js";
import { bannerDismissed, startRepeatingAlerts } from "./notifications.js";
import { checkQueue } from "./queue_alerts.js";
import { onShortcutKey } from "./shortcuts.js";
import { answer } from "./bus.js";
import { getSocket, me } from "./shared.js";
import { toast } from "./toasts.js";
import { loadSystemWarnings, SYSTEM_WARNINGS_EVERY_MS } from "./system.js";
import { probeDevMail } from "./dev_mail.js";
import { stopTyping } from "./typing.js";

let timers = [];

export async function boot() {
  setUnauthenticatedHandler(() => sessionLost("Your session has ended. Please sign in again."));
  window.addEventListener("hashchange", route);
  document.addEventListener("visibilitychange", onVisibility);
  document.addEventListener("keydown", onShortcutKey);
  // A Resolve or Hand back still in its undo window is not sent if the page goes: ask first.
  window.addEventListener("beforeunload", (event) => {
    if (!anyWaiting()) return;
    event.preventDefault();
    event.returnValue = "";
  });
  try {
    signedIn(await api.me());
  } catch (error) {
    set({ boot: "login", loginNotice: error.status === 401 ? "" : error.message });
  }
}

/** After login, `GET /api/me`: keep the CSRF token, then start or ask for a new password. */
function signedIn(data) {
  setCsrfToken(data.csrf_token);
  set({ me: data.agent, loginNotice: "" });
  if (data.alerts) set({ alerts: data.alerts });
  else api.me().then((fresh) => fresh && fresh.alerts && set({ alerts: fresh.alerts })).catch(() => {});
  if (data.must_change_password) set({ boot: "password" });
  else startSession();
}

export async function login(username, password) {
  notify.unlockAudio(); // a user gesture: sound may play from now on
  try {
    signedIn(await api.login(username, password));
    return null;
  } catch (error) {
    if (error.status === 401) return "Wrong username or password.";
    if (error.status === 400) return "Enter your username and password.";
    return error.message;
  }
}

export async function changePassword(current, next) {
  try {
    await api.changePassword(current, next);
    signedIn(await api.me());
    return null;
  } catch (error) {
    if (error.status === 401 || error.status === 403) return error.message || "The current password is wrong.";
    return error.message;
  }
}

export async function logout() {
  const wasSelected = getState().selectedId;
  if (wasSelected) stopTyping(wasSelected);
  await sendWaiting(); // a Resolve or Hand back in its undo window is meant: send it first
  forgetDrafts(); // a shared computer keeps none of this agent's drafts
  try {
    await api.logout();
  } catch (_) {
    // The session may already be gone; sign out locally anyway.
  }
  endSession();
  reset({ boot: "login" });
  history.replaceState(null, "", location.pathname);
}

function endSession() {
  disconnect();
  for (const t of timers) clearInterval(t);
  timers = [];
  setCsrfToken(null);
}

function sessionLost(notice) {
  if (getState().boot !== "ready") return;
  endSession();
  reset({ boot: "login", loginNotice: notice });
}

function startSession() {
  set({ boot: "ready", notifyPermission: notify.permission(), permissionBannerDismissed: bannerDismissed() });
  route();
  if (me().role === "admin") {
    loadSystemWarnings();
    if (getState().section !== "devmail") probeDevMail(); // the page loads it itself
    timers.push(setInterval(loadSystemWarnings, SYSTEM_WARNINGS_EVERY_MS));
  }
  if (me().role === "marketer") {
    // Analytics only: no conversations, agents or alerts to load.
    connect();
    return;
  }
  pruneOldDrafts();
  loadLists();
  loadAgents();
  loadCanned();
  loadFollowups();
  connect();
  timers.push(setInterval(() => set({ now: Date.now() }), 30000));
  timers.push(startRepeatingAlerts());
}

export async function setStatus(status) {
  const before = me();
  set({ me: { ...before, status } });
  try {
    let agent = null;
    const socket = getSocket();
    if (socket && socket.connected) {
      const ack = await socket.emit(SET_STATUS, { status }).catch(() => null);
      if (ack && ack.ok === true) agent = ack.agent || null;
      else if (ack && ack.ok === false) throw new ApiError(0, ack.error, ack.message);
      else agent = (await api.updateMe({ status })).agent;
    } else {
      agent = (await api.updateMe({ status })).agent;
    }
    if (agent) set({ me: agent });
    checkQueue();
  } catch (error) {
    set({ me: before });
    toast(`Could not change your status: ${error.message}`, "error");
  }
}

answer("logout", logout);
