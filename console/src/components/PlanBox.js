/** Planning before launch: sample size per arm and duration from baseline, effect and power (POST /api/campaigns/plan). */

import { useState } from "preact/hooks";
import { html } from "../html.js";
import { planCampaign } from "../actions/index.js";
import { Field } from "./Field.js";

const n = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString());

export function PlanBox({ form, plan }) {
  const [baseline, setBaseline] = useState(5);
  const [mde, setMde] = useState(20);
  const [power, setPower] = useState(80);
  const [daily, setDaily] = useState(500);
  const arms = form.variants.length + (Number(form.holdout) > 0 ? 1 : 0);
  function submit() {
    planCampaign({
      baseline: Number(baseline) / 100, mde: Number(mde) / 100, power: Number(power) / 100, alpha: 0.05,
      arms, daily_visitors: Number(daily) || undefined,
    });
  }
  const d = plan && plan.data;
  // experiments/planning.py: per arm, control first; fixed horizon and sequential.
  const perArm = d && Array.isArray(d.per_arm) ? Math.max(...d.per_arm) : null;
  const seqArm = d && Array.isArray(d.sequential_per_arm) ? Math.max(...d.sequential_per_arm) : null;
  const e = (plan && plan.errors) || {};
  return html`
    <section class="dash-card plan" aria-labelledby="ce-plan">
      <h2 id="ce-plan">Plan the experiment</h2>
      <p class="muted">How many visitors each arm needs to detect the effect you care about, and how long that takes.</p>
      <div class="grid4">
        <${Field} label="Baseline rate, %" error=${e.baseline}><input type="number" min="0.1" max="99" step="0.1" value=${baseline} onInput=${(ev) => setBaseline(ev.currentTarget.value)} /></${Field}>
        <${Field} label="Minimum detectable effect, % (relative)" error=${e.mde}><input type="number" min="1" max="500" step="1" value=${mde} onInput=${(ev) => setMde(ev.currentTarget.value)} /></${Field}>
        <${Field} label="Power, %" error=${e.power}><input type="number" min="50" max="99" step="1" value=${power} onInput=${(ev) => setPower(ev.currentTarget.value)} /></${Field}>
        <${Field} label="Eligible visitors a day" error=${e.daily_visitors}><input type="number" min="1" step="1" value=${daily} onInput=${(ev) => setDaily(ev.currentTarget.value)} /></${Field}>
      </div>
      <div class="form-actions">
        <button type="button" class="btn small" onClick=${submit} disabled=${plan && plan.loading}>${plan && plan.loading ? "Planning…" : "Plan"}</button>
        <span role="status" aria-live="polite" class="plan-result">
          ${plan && plan.error ? html`<span class="error">${plan.error}</span>` : null}
          ${d ? html`<span>Fixed horizon: <strong data-per-arm=${perArm}>${n(perArm)}</strong> exposed visitors per arm, ${n(d.total)} in all${d.days !== null && d.days !== undefined ? html`, about <strong>${n(d.days)}</strong> days` : ""}.</span>
            <span> Sequential (watch daily): up to ${n(seqArm)} per arm, ${n(d.sequential_total)} in all${d.sequential_days !== null && d.sequential_days !== undefined ? `, about ${n(d.sequential_days)} days` : ""}.</span>` : null}
        </span>
      </div>
    </section>
  `;
}
