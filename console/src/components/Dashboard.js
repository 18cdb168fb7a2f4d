/**
 * The analytics dashboard: filters, KPI tiles, a time series, the funnel and
 * the breakdown tables (each with a CSV download). Figures refresh live.
 * Formulas: docs/analytics.md.
 */

import { useMemo } from "preact/hooks";
import { html } from "../html.js";
import { analyticsCsvUrl } from "../api.js";
import { RANGES, SEGMENTS, setFilters } from "../actions/dashboard.js";
import { ChartCanvas } from "./Chart.js";

const COLORS = { visitors: "#2563eb", conversations: "#0d9488", handoffs: "#d97706", conversions: "#7c3aed" };

const count = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString());
const pct = (r) => (r === null || r === undefined ? "—" : `${(r * 100).toFixed(r < 0.1 ? 1 : 0)}%`);
const money = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString(undefined, { maximumFractionDigits: 2, minimumFractionDigits: 2 }));
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const TILES = [
  ["visitors_online", "Visitors online now", count, "Open widget connections right now"],
  ["visitors", "Visitors", count, "Distinct visitors with a page view or a message"],
  ["conversations", "Conversations", count, "Conversations started"],
  ["engagement_rate", "Engagement", pct, "Visitors who chatted ÷ visitors"],
  ["widget_opened_no_message", "Opened, no message", count, "Visitors who opened the chat but wrote nothing"],
  ["containment_rate", "Bot containment", pct, "Conversations that never asked for a person (whether or not one was online) and that no agent joined ÷ conversations"],
  ["handoff_rate", "Handoff rate", pct, "Conversations that asked for a person ÷ conversations"],
  ["fallback_rate", "Fallback rate", pct, "Messages the bot did not understand ÷ bot replies"],
  ["queue_wait_p50", "Queue wait (median)", duration, "Per handoff, from the queue to the first agent taking it; p90 below"],
  ["first_response_p50", "First response (median)", duration, "Per handoff (a second one counts too), from the handoff to the agent's first reply; bot time never counts"],
  ["resolution_p50", "Resolution (median)", duration, "Per handoff, from the handoff to resolved; bot time before or after never counts"],
  ["csat_average", "CSAT", (v) => (v === null || v === undefined ? "—" : `${v.toFixed(1)} / 5`), "Average rating"],
  ["recommendation_ctr", "Recommendation CTR", pct, "Product-card clicks ÷ impressions"],
  ["leads", "Leads", count, "Visitors who left an e-mail address"],
  ["conversion_rate_chatted", "Conversion (chatted)", pct, "Visitors who bought within the attribution window after chatting ÷ visitors who chatted"],
  ["conversion_rate_not_chatted", "Conversion (no chat)", pct, "Buyers who never chatted ÷ visitors who did not chat"],
  ["revenue", "Revenue (verified)", money, "Conversion values your shop's backend vouched for: signed conversions and POST /api/conversions"],
  ["revenue_unverified", "Unverified value", money, "Values browsers reported on their own (Rapport.track without a signature): capped per event and per visitor a day, never counted as revenue"],
];

const SUBTEXT = {
  queue_wait_p50: (k) => `p90 ${duration(k.queue_wait_p90)}`,
  first_response_p50: (k) => `p90 ${duration(k.first_response_p90)}`,
  resolution_p50: (k) => `p90 ${duration(k.resolution_p90)}`,
  csat_average: (k) => `${count(k.csat_responses)} ratings · ${pct(k.csat_response_rate)} response rate`,
  revenue: (k) => `${money(k.revenue_chatted)} after chat · ${count(k.conversions_verified)} of ${count(k.conversions)} conversions verified`,
  revenue_unverified: () => "reported by browsers · not in revenue",
};

const TABLE_TITLES = {
  handoff_reasons: "Handoffs by reason",
  intents: "Intents",
  unrecognised: "Top unrecognised messages",
  agents: "Agents",
  csat: "CSAT distribution",
  products: "Recommendations by product",
  categories: "Recommendations by category",
  utm_sources: "UTM sources",
  pages: "Pages",
};

export function Dashboard({ state }) {
  const d = state.dashboard;
  const summary = d.summary;
  return html`
    <main class="dashboard" id="main" aria-busy=${d.loading ? "true" : "false"}>
      <div class="dash-head">
        <h1>Analytics</h1>
        <span class="live" role="status">
          <span class="live-dot" aria-hidden="true"></span>
          Live${d.updatedAt ? html` · updated <time>${new Date(d.updatedAt).toLocaleTimeString()}</time>` : ""}
        </span>
      </div>
      <${Filters} filters=${d.filters} />
      ${d.error ? html`<p class="dash-error" role="alert">Could not load the figures: ${d.error}</p>` : null}
      ${summary ? html`
        <${Tiles} kpis=${summary.kpis} />
        <div class="dash-grid">
          <section class="dash-card wide">
            <h2>Activity</h2>
            <${Series} points=${summary.series} bucket=${summary.range.bucket} />
          </section>
          <section class="dash-card">
            <h2>Funnel</h2>
            <${Funnel} steps=${summary.funnel} />
          </section>
          ${Object.keys(TABLE_TITLES).map((name) => html`
            <${TableCard} name=${name} table=${d.tables[name]} query=${d.query} />`)}
        </div>` : html`<p class="dash-empty" role="status">${d.loading ? "Loading the figures…" : ""}</p>`}
    </main>
  `;
}

function Filters({ filters }) {
  return html`
    <form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label="Filters">
      <div class="seg" role="group" aria-label="Date range">
        ${Object.entries(RANGES).map(([key, label]) => html`
          <button type="button" class=${`btn small${filters.range === key ? " primary" : ""}`}
            aria-pressed=${filters.range === key ? "true" : "false"}
            onClick=${() => setFilters(key === "custom"
              ? { range: key, from: filters.from || isoDay(-6), to: filters.to || isoDay(0) }
              : { range: key })}>${label}</button>`)}
      </div>
      ${filters.range === "custom" ? html`
        <label>From <input type="date" value=${filters.from} onChange=${(e) => setFilters({ from: e.currentTarget.value })} /></label>
        <label>To <input type="date" value=${filters.to} onChange=${(e) => setFilters({ to: e.currentTarget.value })} /></label>` : null}
      <label>Segment
        <select value=${filters.segment} onChange=${(e) => setFilters({ segment: e.currentTarget.value })}>
          ${Object.entries(SEGMENTS).map(([key, label]) => html`<option value=${key}>${label}</option>`)}
        </select>
      </label>
      <label>UTM source
        <input type="text" placeholder="any" value=${filters.utm_source} maxlength="100"
          onChange=${(e) => setFilters({ utm_source: e.currentTarget.value.trim() })} />
      </label>
      <label>Page
        <input type="text" placeholder="/products" value=${filters.page} maxlength="100"
          onChange=${(e) => setFilters({ page: e.currentTarget.value.trim() })} />
      </label>
    </form>
  `;
}

function isoDay(offset) {
  const day = new Date(Date.now() + offset * 86400000);
  return `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, "0")}-${String(day.getDate()).padStart(2, "0")}`;
}

function Tiles({ kpis }) {
  return html`
    <ul class="tiles" aria-label="Key figures">
      ${TILES.map(([key, label, format, help]) => html`
        <li class=${`tile${key === "revenue_unverified" ? " tile-unverified" : ""}`} title=${help} data-kpi=${key}>
          <span class="tile-label">${label}</span>
          <strong class="tile-value">${format(kpis[key])}</strong>
          ${SUBTEXT[key] ? html`<span class="tile-sub">${SUBTEXT[key](kpis)}</span>` : null}
        </li>`)}
    </ul>
  `;
}

function Series({ points, bucket }) {
  const data = useMemo(() => ({
    labels: points.map((p) => {
      const t = new Date(p.t);
      return bucket === "hour" ? t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : t.toLocaleDateString([], { month: "short", day: "numeric" });
    }),
    datasets: Object.entries(COLORS).map(([key, color]) => ({
      label: key[0].toUpperCase() + key.slice(1),
      data: points.map((p) => p[key]),
      borderColor: color,
      backgroundColor: color,
      tension: 0,
      pointRadius: points.length > 40 ? 0 : 2,
    })),
  }), [points, bucket]);
  const total = (key) => points.reduce((sum, p) => sum + p[key], 0);
  return html`<${ChartCanvas} type="line" data=${data}
    options=${{ plugins: { legend: { position: "bottom" } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }}
    label=${`Per ${bucket}: ${Object.keys(COLORS).map((k) => `${total(k)} ${k}`).join(", ")}`} />`;
}

const STEP_LABELS = { visit: "Visited", chat: "Chatted", recommendation_click: "Clicked a recommendation", conversion: "Converted" };

function Funnel({ steps }) {
  const top = steps[0] ? steps[0].visitors : 0;
  const data = useMemo(() => ({
    labels: steps.map((s) => STEP_LABELS[s.step] || s.step),
    datasets: [{ label: "Visitors", data: steps.map((s) => s.visitors), backgroundColor: ["#2563eb", "#0d9488", "#d97706", "#7c3aed"] }],
  }), [steps]);
  return html`
    <${ChartCanvas} type="bar" data=${data}
      options=${{ indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }}
      label=${steps.map((s) => `${STEP_LABELS[s.step]}: ${s.visitors}`).join(", ")} />
    <ol class="funnel-steps">
      ${steps.map((s) => html`<li><span>${STEP_LABELS[s.step] || s.step}</span><strong>${count(s.visitors)}</strong>
        <span class="muted">${top ? pct(s.visitors / top) : "—"}</span></li>`)}
    </ol>
  `;
}

function cell(column, value) {
  if (value === null || value === undefined) return "—";
  if (column === "rate" || column === "share" || column === "ctr") return pct(value);
  if (column.endsWith("_p50") || column.endsWith("_p90")) return duration(value);
  if (column === "revenue" || column === "revenue_unverified") return money(value);
  return typeof value === "number" ? value.toLocaleString() : String(value);
}

// More rows than this: the CSV has them (and the card says so).
const SHOWN_ROWS = 20;
const WIDE_COLUMNS = 5;

function TableCard({ name, table, query }) {
  const title = TABLE_TITLES[name];
  // Five columns and more do not fit a third of a desktop: such a table takes two.
  const shown = table && table.rows.length ? table.columns.filter((c) => c !== "agent_id").length : 0;
  return html`
    <section class=${`dash-card${shown >= WIDE_COLUMNS ? " wide" : ""}`} aria-labelledby=${`t-${name}`}>
      <div class="dash-card-head">
        <h2 id=${`t-${name}`}>${title}</h2>
        <a class="btn small" href=${analyticsCsvUrl(name, query || {})} download>CSV</a>
      </div>
      ${!table || !table.rows.length ? html`<p class="muted">No data in this range.</p>` : html`
        <div class="table-scroll" tabindex="0" role="region" aria-label=${`${title} (scrolls sideways)`}>
          <table class="data">
            <thead><tr>${table.columns.filter((c) => c !== "agent_id").map((c) => html`<th scope="col">${c.replaceAll("_", " ")}</th>`)}</tr></thead>
            <tbody>
              ${table.rows.slice(0, SHOWN_ROWS).map((row) => html`<tr>${row.map((v, i) => table.columns[i] === "agent_id" ? null : html`<td>${cell(table.columns[i], v)}</td>`)}</tr>`)}
            </tbody>
          </table>
        </div>
        ${table.rows.length > SHOWN_ROWS
          ? html`<p class="muted table-more">The first ${SHOWN_ROWS} of ${table.rows.length} rows; the CSV has them all.</p>` : null}`}
    </section>
  `;
}
