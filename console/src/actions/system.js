/** Configuration warnings for admins (e.g. a reverse proxy missing from TRUSTED_PROXIES). */

import { api } from "../api.js";
import { set } from "../store.js";

export const SYSTEM_WARNINGS_EVERY_MS = 5 * 60 * 1000;

export async function loadSystemWarnings() {
  try {
    const { warnings } = await api.systemWarnings();
    set({ systemWarnings: warnings });
  } catch (_) {
    // Keep what we knew; the next check tries again.
  }
}
