/**
 * A campaign's results: the verdict (only the API's), the per-arm table with
 * Wilson intervals, uplift vs control with its interval (and Holm-adjusted p
 * when several variants), uplift over time (lazy Chart.js), guardrails, the
 * sequential/fixed toggle and the CSV export. Statistics: docs/experiments.md.
 */

import { useMemo } from "preact/hooks";
import { html } from "../html.js";
import { campaignCsvUrl } from "../api.js";
import { setResultsMode } from "../actions/index.js";
import { resultArms, resultComparisons, resultSeries, srmChecks, verdictOf } from "../results_view.js";
import { ChartCanvas } from "./Chart.js";

const count = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString());
const pct = (x, digits = 1) => (x === null || x === undefined || Number.isNaN(Number(x)) ? "—" : `${(Number(x) * 100).toFixed(digits)} %`);
const pp = (x) => (x === null || x === undefined ? "—" : `${x >= 0 ? "+" : ""}${(x * 100).toFixed(2)} pp`);
const signed = (x) => (x === null || x === undefined ? "—" : `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)} %`);
const pval = (p) => (p === null || p === undefined ? "—" : p < 0.001 ? "< 0.001" : Number(p).toFixed(3));
const COLORS = ["#2563eb", "#d97706", "#7c3aed", "#0d9488", "#be185d"];

export function Results({ state }) {
  const c = state.campaigns;
  const id = c.openId;
  const data = c.resultsData;
  const campaign = c.item || c.list.find((x) => String(x.id) === String(id))
    || (data ? { id, name: data.name, status: data.status } : { id, name: `Campaign ${id}` });
  const mode = c.resultsMode;
  return html`
    <main class="dashboard engage results" id="main" aria-busy=${c.resultsLoading ? "true" : "false"}>
      <div class="dash-head"><h1>Results — ${campaign.name}</h1>
        ${campaign.status ? html`<span class=${`chip status-${campaign.status}`}>${campaign.status}</span>` : null}
        <a class="btn small head-action" href=${`#/campaigns/${id}`}>Edit campaign</a></div>
      <div class="filters results-bar">
        <div class="seg" role="group" aria-label="Statistics">
          ${[["sequential", "Sequential (safe to watch daily)"], ["fixed", "Fixed horizon"]].map(([m, label]) => html`
            <button type="button" class=${`btn small${mode === m ? " primary" : ""}`} aria-pressed=${mode === m ? "true" : "false"}
              onClick=${() => setResultsMode(id, m)}>${label}</button>`)}
        </div>
        <a class="btn small" href=${campaignCsvUrl(id, mode)} download>Download CSV</a>
      </div>
      ${c.resultsError ? html`<p class="dash-error" role="alert">Could not load the results: ${c.resultsError}</p>` : null}
      ${data ? html`<${ResultsBody} data=${data} mode=${mode} />`
        : html`<p class="dash-empty" role="status">${c.resultsLoading ? "Loading the results…" : ""}</p>`}
    </main>
  `;
}

function ResultsBody({ data, mode }) {
  const arms = resultArms(data);
  const comparisons = resultComparisons(data);
  const verdict = verdictOf(data);
  const several = comparisons.length > 1;
  return html`
    <div class=${`verdict verdict-${verdict.kind}`} role="status" data-verdict=${verdict.kind}>
      <strong>${verdict.title}</strong>${verdict.detail ? html` <span>${verdict.detail}</span>` : null}
    </div>
    <div class="dash-grid">
      <section class="dash-card wide" aria-labelledby="res-arms">
        <h2 id="res-arms">Arms</h2>
        <div class="table-scroll" tabindex="0" role="region" aria-label="Arms (scrolls sideways)"><table class="data arms">
          <thead><tr>${["Arm", "Share", "Assigned", "Exposed", "Conversions", "Rate", "95 % interval"].map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
          <tbody>${arms.map((a) => html`<tr data-arm=${a.arm}>
            <th scope="row">${a.arm}${a.arm === "control" ? html` <span class="muted">(holdout)</span>` : null}</th>
            <td class="num">${pct(a.weight, 0)}</td><td class="num">${count(a.assigned)}</td><td class="num">${count(a.exposed)}</td>
            <td class="num">${count(a.conversions)}</td><td class="num">${pct(a.rate, 2)}</td>
            <td class="num">${a.ci ? `${pct(a.ci[0], 2)} – ${pct(a.ci[1], 2)}` : "—"}</td>
          </tr>`)}</tbody>
        </table></div>
      </section>
      <section class="dash-card wide" aria-labelledby="res-uplift">
        <h2 id="res-uplift">Uplift vs control <span class="hint">(${mode === "fixed" ? "fixed-horizon" : "anytime-valid"} 95 % intervals)</span></h2>
        ${comparisons.length ? html`<div class="table-scroll" tabindex="0" role="region" aria-label="Uplift (scrolls sideways)"><table class="data uplift">
          <thead><tr>${["Arm", "Absolute", "Interval", "Relative", "Interval", several ? "p (Holm-adjusted)" : "p"].map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
          <tbody>${comparisons.map((u) => html`<tr data-arm=${u.arm}>
            <th scope="row">${u.arm}</th>
            <td class="num">${pp(u.absolute.estimate)}</td><td class="num">${u.absolute.ci ? `${pp(u.absolute.ci[0])} – ${pp(u.absolute.ci[1])}` : "—"}</td>
            <td class="num">${signed(u.relative.estimate)}</td><td class="num">${u.relative.ci ? `${signed(u.relative.ci[0])} – ${signed(u.relative.ci[1])}` : "—"}</td>
            <td class="num">${pval(several ? u.p_adjusted ?? u.p : u.p)}</td>
          </tr>`)}</tbody>
        </table></div>` : html`<p class="muted">No control group, or no variant yet: nothing to compare.</p>`}
      </section>
      <${UpliftChart} data=${data} />
      <${Guardrails} arms=${arms} />
      <${Srm} checks=${srmChecks(data)} />
    </div>
  `;
}

function UpliftChart({ data }) {
  const series = resultSeries(data);
  const chart = useMemo(() => {
    if (!series.points.length) return null;
    const labels = series.points.map((p) => new Date(p.at).toLocaleDateString());
    const datasets = [];
    series.arms.forEach((arm, i) => {
      const color = COLORS[i % COLORS.length];
      const at = (p, k) => (p.arms[arm] && p.arms[arm][k] !== null && p.arms[arm][k] !== undefined ? p.arms[arm][k] * 100 : null);
      datasets.push({ label: `${arm} uplift %`, data: series.points.map((p) => at(p, "estimate")), borderColor: color, backgroundColor: color, tension: 0.2 });
      datasets.push({ label: `${arm} upper`, data: series.points.map((p) => at(p, "high")), borderColor: `${color}55`, borderDash: [4, 4], pointRadius: 0, fill: false });
      datasets.push({ label: `${arm} lower`, data: series.points.map((p) => at(p, "low")), borderColor: `${color}55`, borderDash: [4, 4], pointRadius: 0, backgroundColor: `${color}22`, fill: "-1" });
    });
    return { labels, datasets };
  }, [data]);
  const last = series.points[series.points.length - 1];
  const summary = last ? series.arms.map((arm) => {
    const v = last.arms[arm] || {};
    return `${arm}: ${signed(v.estimate)} (${signed(v.low)} to ${signed(v.high)})`;
  }).join("; ") : "";
  return html`
    <section class="dash-card chart-card" aria-labelledby="res-time">
      <h2 id="res-time">Relative uplift over time, with its interval</h2>
      ${chart ? html`<${ChartCanvas} type="line" data=${chart} label=${`Relative uplift over time. Latest: ${summary}`}
          options=${{ plugins: { legend: { labels: { filter: (item) => !/ (upper|lower)$/.test(item.text) } } }, scales: { y: { ticks: { callback: (v) => `${v} %` } } } }} />`
        : html`<p class="muted">No daily figures yet.</p>`}
    </section>
  `;
}

function Srm({ checks }) {
  if (!checks.length) return null;
  return html`
    <section class="dash-card" aria-labelledby="res-srm">
      <h2 id="res-srm">Sample ratio check</h2>
      <ul class="plain">${checks.map((x) => html`<li data-srm=${x.counts}>On ${x.counts} visitors: ${x.p_value === null || x.p_value === undefined
        ? html`<span class="muted">too few to check yet</span>`
        : html`chi-square p = ${pval(x.p_value)} ${x.flagged ? html`<span class="chip danger-chip">mismatch</span>` : html`<span class="chip ok">passes</span>`}`}</li>`)}</ul>
      <p class="muted">Each arm should get its configured share; a mismatch (p ${"<"} 0.001) means something drops visitors from one arm.</p>
    </section>
  `;
}

function Guardrails({ arms }) {
  const csat = (g) => (g.csat_mean === null || g.csat_mean === undefined ? "—" : `${Number(g.csat_mean).toFixed(2)} / 5 (${count(g.csat_count)})`);
  return html`
    <section class="dash-card" aria-labelledby="res-guard">
      <h2 id="res-guard">Guardrails</h2>
      <div class="table-scroll" tabindex="0" role="region" aria-label="Guardrails (scrolls sideways)"><table class="data guard-table">
        <thead><tr>${["Arm", "Dismiss rate", "CSAT", "Handoffs (agent load)"].map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
        <tbody>${arms.map((a) => html`<tr data-arm=${a.arm}>
          <th scope="row">${a.arm}</th><td class="num">${a.arm === "control" ? "—" : pct(a.guardrails.dismiss_rate)}</td>
          <td class="num">${csat(a.guardrails)}</td><td class="num">${count(a.guardrails.handoffs)}</td>
        </tr>`)}</tbody>
      </table></div>
    </section>
  `;
}
