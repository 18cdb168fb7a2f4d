/** The agents directory (transfer targets, names), kept live by `agent_updated`, which also updates me. */

import { api } from "../api.js";
import { set, setIn } from "../store.js";
import { checkQueue } from "./queue_alerts.js";
import { me } from "./shared.js";

/**
 * Every agent, page after page: the directory is needed whole (transfer
 * targets, names), and pages of 500 keep each answer bounded.
 */
export async function allAgents() {
  const all = [];
  let cursor;
  do {
    const data = await api.agents(cursor);
    all.push(...(data.agents || []));
    cursor = data.next_cursor || null;
  } while (cursor);
  return all;
}

export async function loadAgents() {
  try {
    const agents = {};
    for (const a of await allAgents()) agents[a.id] = a;
    set({ agents });
  } catch (_) {
    // Transfer shows an error if it still has no agents.
  }
}

/** Server event `agent_updated`. */
export function agentUpdated(agent) {
  if (!agent || typeof agent.id !== "number") return;
  setIn("agents", agent.id, agent);
  if (me() && agent.id === me().id) {
    set({ me: { ...me(), ...agent } });
    checkQueue(); // online or not, a seat freed or taken
  }
}
