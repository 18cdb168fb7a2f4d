/** The agents directory (transfer targets, names), kept live by `agent_updated`, which also updates me. */

import { api } from "../api.js";
import { set, setIn } from "../store.js";
import { me } from "./shared.js";

export async function loadAgents() {
  try {
    const data = await api.agents();
    const agents = {};
    for (const a of data.agents || []) agents[a.id] = a;
    set({ agents });
  } catch (_) {
    // Transfer shows an error if it still has no agents.
  }
}

/** Server event `agent_updated`. */
export function agentUpdated(agent) {
  if (!agent || typeof agent.id !== "number") return;
  setIn("agents", agent.id, agent);
  if (me() && agent.id === me().id) set({ me: { ...me(), ...agent } });
}
