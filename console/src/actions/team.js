/**
 * Admins: the agents' accounts — sign an agent out everywhere, deactivate and
 * reactivate them (docs/agent-api.md, "Accounts"). Everyone: sign themselves
 * out everywhere (Settings).
 */

import { api } from "../api.js";
import { allAgents } from "./agents.js";
import { set } from "../store.js";
import { toast } from "./toasts.js";
import { request } from "./bus.js";

const patch = (p) => set((s) => ({ team: { ...s.team, ...p } }));

export function showTeam() {
  set({ section: "team", pane: "list" });
  loadTeam();
}

export async function loadTeam() {
  try {
    patch({ list: await allAgents(), loaded: true, error: "" });
  } catch (error) {
    patch({ loaded: true, error: error.message });
  }
}

async function act(call, done) {
  try {
    await call();
    toast(done, "ok");
  } catch (error) {
    toast(error.message, "error");
  }
  loadTeam();
}

export function signOutAgent(agent) {
  if (!confirm(`Sign ${agent.display_name} out of every browser and revoke their API token?`)) return;
  act(() => api.signOutAgent(agent.id), `${agent.display_name} is signed out everywhere.`);
}

export function deactivateAgent(agent) {
  if (!confirm(`Deactivate ${agent.display_name}? They are signed out at once and their open chats go back to the queue.`)) return;
  act(() => api.deactivateAgent(agent.id), `${agent.display_name} is deactivated.`);
}

export function reactivateAgent(agent) {
  act(() => api.reactivateAgent(agent.id), `${agent.display_name} can sign in again.`);
}

/** Every session of mine (this one too) and my API token end. */
export async function signOutEverywhere() {
  if (!confirm("Sign out of every browser and revoke your API token?")) return;
  try {
    await api.signOutEverywhere();
  } catch (_) {
    // Signed out anyway below.
  }
  request("logout");
}
