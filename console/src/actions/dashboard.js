/**
 * The analytics dashboard (admins and marketers): filters kept in the URL
 * hash (`#/dashboard?range=30d&segment=new`), the summary and breakdown tables
 * from /api/analytics, and live refreshes when the server says events were
 * logged (`analytics_changed`, at most one refetch a second).
 */

import { api } from "../api.js";
import { getState, set } from "../store.js";

export const TABLES = [
  "handoff_reasons", "intents", "unrecognised", "agents", "csat", "products",
  "categories", "utm_sources", "pages",
];
export const RANGES = { today: "Today", "7d": "Last 7 days", "30d": "Last 30 days", custom: "Custom" };
export const SEGMENTS = { all: "All visitors", new: "New", returning: "Returning", identified: "Identified", anonymous: "Anonymous" };

const DAY = 86400000;
const LIVE_DEBOUNCE_MS = 1000;
let liveTimer = null;
let generation = 0; // ignores answers to requests made before the last filter change

export const defaultFilters = () => ({ range: "7d", from: "", to: "", segment: "all", utm_source: "", page: "" });

/** Filters from the hash's query part (unknown or bad values fall back to defaults). */
export function filtersFromHash(hash) {
  const query = new URLSearchParams((hash.split("?")[1] || ""));
  const f = defaultFilters();
  if (RANGES[query.get("range")]) f.range = query.get("range");
  if (SEGMENTS[query.get("segment")]) f.segment = query.get("segment");
  for (const key of ["from", "to"]) if (/^\d{4}-\d{2}-\d{2}$/.test(query.get(key) || "")) f[key] = query.get(key);
  for (const key of ["utm_source", "page"]) f[key] = (query.get(key) || "").slice(0, 100);
  if (f.range === "custom" && !(f.from && f.to)) f.range = "7d";
  return f;
}

function hashOf(filters) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    if (value && value !== defaultFilters()[key]) query.set(key, value);
  }
  if (filters.range !== "custom") {
    query.delete("from");
    query.delete("to");
  }
  const text = query.toString();
  return `#/dashboard${text ? `?${text}` : ""}`;
}

/** The API's query parameters for `filters`, relative to `now`. */
export function apiQuery(filters, now = Date.now()) {
  let from;
  let to;
  if (filters.range === "custom") {
    from = new Date(`${filters.from}T00:00:00`);
    to = new Date(new Date(`${filters.to}T00:00:00`).getTime() + DAY); // the "to" day included
  } else if (filters.range === "today") {
    const midnight = new Date(now);
    midnight.setHours(0, 0, 0, 0);
    from = midnight;
    to = new Date(now + 60000);
  } else {
    to = new Date(now + 60000); // a minute ahead: what happens while the page is open counts
    from = new Date(now - (filters.range === "30d" ? 30 : 7) * DAY);
  }
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    segment: filters.segment === "all" ? undefined : filters.segment,
    utm_source: filters.utm_source || undefined,
    page: filters.page || undefined,
  };
}

/** Show the dashboard with the hash's filters (called by the router). */
export function showDashboard(hash) {
  const filters = filtersFromHash(hash);
  const current = getState().dashboard;
  const same = current && JSON.stringify(current.filters) === JSON.stringify(filters);
  set({ section: "dashboard", pane: "list" });
  if (!same || !current.summary) loadDashboard(filters);
}

/** Change some filters: the hash changes, the router reloads the figures. */
export function setFilters(patch) {
  const filters = { ...getState().dashboard.filters, ...patch };
  location.hash = hashOf(filters);
}

export async function loadDashboard(filters = getState().dashboard.filters, quiet = false) {
  const mine = ++generation;
  set((s) => ({ dashboard: { ...s.dashboard, filters, loading: !quiet, error: "" } }));
  const query = apiQuery(filters);
  try {
    const [summary, ...tables] = await Promise.all([
      api.analyticsSummary(query),
      ...TABLES.map((name) => api.analyticsTable(name, query)),
    ]);
    if (mine !== generation) return;
    set((s) => ({
      dashboard: {
        ...s.dashboard,
        summary,
        tables: Object.fromEntries(tables.map((t) => [t.name, t])),
        query,
        loading: false,
        updatedAt: Date.now(),
      },
    }));
  } catch (error) {
    if (mine !== generation) return;
    set((s) => ({ dashboard: { ...s.dashboard, loading: false, error: error.message } }));
  }
}

/** The server logged events: refetch soon (coalescing bursts). */
export function analyticsChanged() {
  const s = getState();
  if (s.section !== "dashboard" || !s.dashboard.summary || liveTimer) return;
  liveTimer = setTimeout(() => {
    liveTimer = null;
    loadDashboard(getState().dashboard.filters, true);
  }, LIVE_DEBOUNCE_MS);
}
