/**
 * The campaign editor: basics, variants with their shares and content, the
 * rules (CampaignRules.js), caps, the goal, "Check" (server validation shown
 * by field), the planning box and the preview in the real widget.
 */

import { useState } from "preact/hooks";
import { html } from "../html.js";
import {
  ARM_KEYS, GOAL_TYPES, KINDS, allocationLocked, allocationProblem, emptyCampaign, emptyContent, errorsUnder,
  evenWeights, fromCampaign, patchFor, splitText, toPayload,
} from "../campaign_form.js";
import { campaignAction, clearValidation, go, saveCampaign, validateCampaign } from "../actions/index.js";
import { Field } from "./Field.js";
import { CampaignRules } from "./CampaignRules.js";
import { PlanBox } from "./PlanBox.js";
import { CampaignPreview } from "./CampaignPreview.js";

const pct = (x) => Math.round(Number(x) * 1000) / 10;

export function CampaignEditor({ state }) {
  const c = state.campaigns;
  const item = c.openId === "new" ? null : c.item;
  const [form, setForm] = useState(() => (item ? fromCampaign(item) : emptyCampaign()));
  const [saveErrors, setSaveErrors] = useState({});
  const [saving, setSaving] = useState(false);
  if (c.openId !== "new" && !item) {
    return html`<p class="dash-empty" role="status">${c.itemError ? html`<span class="error">${c.itemError}</span>` : "Loading the campaign…"}</p>`;
  }
  const locked = !!item && allocationLocked(item.status);
  const finished = !!item && (item.status === "ended" || item.status === "archived");
  const errors = { ...((c.validation && c.validation.errors) || {}), ...saveErrors };
  const err = (field) => errorsUnder(errors, field);
  const update = (p) => {
    setForm((f) => ({ ...f, ...p }));
    if (c.validation) clearValidation();
  };
  const setVariant = (i, p) => update({ variants: form.variants.map((v, j) => (j === i ? { ...v, ...p } : v)) });
  const setContent = (i, p) => setVariant(i, { content: { ...form.variants[i].content, ...p } });
  const reweigh = (variants) => {
    const weights = evenWeights(variants.length);
    return variants.map((v, i) => ({ ...v, weight: weights[i] }));
  };
  const addVariant = () => {
    const key = ARM_KEYS.find((k) => !form.variants.some((v) => v.key === k));
    update({ variants: reweigh([...form.variants, { key, weight: 0, content: emptyContent() }]) });
  };
  const problem = allocationProblem(form.variants, Number(form.holdout));

  async function submit(event) {
    event.preventDefault();
    setSaving(true);
    const body = toPayload(form);
    setSaveErrors((await saveCampaign(item ? item.id : null, item ? patchFor(item.status, body) : body)) || {});
    setSaving(false);
  }

  return html`
    <form class="editor campaign-editor" onSubmit=${submit} aria-label="Campaign" novalidate>
      ${item ? html`<div class="dash-card status-line">
        <span>Status <span class=${`chip status-${item.status}`}>${item.status}</span> · version ${item.version || 1}</span>
        <a class="btn small" href=${`#/campaigns/${item.id}/results`}>Results</a>
        ${item.status === "draft" || item.status === "paused" ? html`<button type="button" class="btn small primary" onClick=${() => campaignAction(item, "start")}>Start</button>` : null}
        ${item.status === "running" ? html`<button type="button" class="btn small" onClick=${() => campaignAction(item, "pause")}>Pause</button>` : null}
        ${locked ? html`<button type="button" class="btn small" onClick=${() => campaignAction(item, "versions")}>New version</button>` : null}
      </div>` : null}

      <section class="dash-card" aria-labelledby="ce-basics">
        <h2 id="ce-basics">Basics</h2>
        <div class="grid3">
          <${Field} label="Name" error=${err("name")}>
            <input type="text" required maxlength="200" value=${form.name} onInput=${(e) => update({ name: e.currentTarget.value })} /></${Field}>
          <${Field} label="Kind" error=${err("kind")}>
            <select value=${form.kind} onChange=${(e) => update({ kind: e.currentTarget.value })} disabled=${locked}>
              ${Object.entries(KINDS).map(([k, label]) => html`<option value=${k}>${label}</option>`)}</select></${Field}>
          <${Field} label="Priority" hint="higher goes first" error=${err("priority")}>
            <input type="number" step="1" value=${form.priority} onInput=${(e) => update({ priority: e.currentTarget.value })} /></${Field}>
          ${form.kind === "agent" ? html`<${Field} label="Agent" hint="only when online with free capacity" error=${err("agent_id")}>
            <select value=${form.agent_id || ""} onChange=${(e) => update({ agent_id: e.currentTarget.value })}>
              <option value="">Choose…</option>
              ${Object.values(state.agents).filter((a) => a.role !== "marketer").map((a) => html`<option value=${a.id}>${a.display_name}</option>`)}
            </select></${Field}>` : null}
        </div>
      </section>

      <section class="dash-card" aria-labelledby="ce-split">
        <h2 id="ce-split">Variants and holdout</h2>
        ${locked ? html`<p class="note" role="note">The experiment of a ${item.status} campaign (arms, shares, kind, goal, caps) cannot change: make a <button type="button" class="btn small link inline" onClick=${() => campaignAction(item, "versions")}>new version</button> instead.</p>` : null}
        <p class="split" data-split>${splitText(form.variants, Number(form.holdout))}</p>
        <div class="grid3">
          <${Field} label="Holdout (control), %" hint="sees nothing" error=${err("holdout")}>
            <input type="number" min="0" max="90" step="1" value=${pct(form.holdout)} readonly=${locked}
              onInput=${(e) => update({ holdout: (Number(e.currentTarget.value) || 0) / 100 })} /></${Field}>
          ${form.variants.map((v, i) => html`
            <${Field} label=${`Variant ${v.key} weight, %`} hint="of the treated visitors" error=${err(`variants.${i}.weight`)}>
              <input type="number" min="0" max="100" step="1" value=${pct(v.weight)} readonly=${locked}
                onInput=${(e) => setVariant(i, { weight: (Number(e.currentTarget.value) || 0) / 100 })} /></${Field}>`)}
        </div>
        ${problem ? html`<p class="field-error" data-local>${problem}</p>` : null}
        ${err("variants") && !form.variants.some((_, i) => err(`variants.${i}`)) ? html`<p class="field-error" role="alert">${err("variants")}</p>` : null}
        ${err("allocation") ? html`<p class="field-error" role="alert">${err("allocation")}</p>` : null}
        ${locked ? null : html`<div class="form-actions">
          <button type="button" class="btn small" onClick=${addVariant} disabled=${form.variants.length >= ARM_KEYS.length}>Add a variant</button>
          <button type="button" class="btn small" onClick=${() => update({ variants: reweigh(form.variants) })}>Split evenly</button>
        </div>`}
      </section>

      ${form.variants.map((v, i) => html`
        <${VariantContent} key=${v.key} v=${v} i=${i} kind=${form.kind} err=${err} setContent=${(p) => setContent(i, p)}
          remove=${!locked && form.variants.length > 1 ? () => update({ variants: reweigh(form.variants.filter((_, j) => j !== i)) }) : null} />`)}

      <${CampaignRules} form=${form} update=${update} err=${err} segments=${c.segments} />

      <section class="dash-card" aria-labelledby="ce-goal">
        <h2 id="ce-goal">Caps and goal</h2>
        <div class="grid3">
          <${Field} label="Per-visitor cap" hint="times shown to one visitor" error=${err("per_visitor_cap")}>
            <input type="number" min="1" step="1" readonly=${locked} value=${form.per_visitor_cap ?? ""} onInput=${(e) => update({ per_visitor_cap: e.currentTarget.value })} /></${Field}>
          <${Field} label="Cooldown after a dismiss, hours" error=${err("cooldown_hours")}>
            <input type="number" min="0" step="1" readonly=${locked} value=${form.cooldown_hours ?? ""} onInput=${(e) => update({ cooldown_hours: e.currentTarget.value })} /></${Field}>
          <${Field} label="Goal" error=${err("goal.type")}>
            <select value=${form.goal.type} disabled=${locked} onChange=${(e) => update({ goal: { ...form.goal, type: e.currentTarget.value } })}>
              ${Object.entries(GOAL_TYPES).map(([k, label]) => html`<option value=${k}>${label}</option>`)}</select></${Field}>
          ${form.goal.type === "conversion" ? html`<${Field} label="Conversion name" hint="one of the configured goals (CONVERSION_GOALS)" error=${err("goal.name")}>
            <input type="text" maxlength="100" readonly=${locked} value=${form.goal.name || ""} onInput=${(e) => update({ goal: { ...form.goal, name: e.currentTarget.value } })} /></${Field}>` : null}
          <${Field} label="Attribution window, hours" error=${err("goal.window_hours")}>
            <input type="number" min="1" step="1" readonly=${locked} value=${form.goal.window_hours} onInput=${(e) => update({ goal: { ...form.goal, window_hours: e.currentTarget.value } })} /></${Field}>
        </div>
      </section>

      ${!item || item.status === "draft" || item.status === "scheduled" ? html`<${PlanBox} form=${form} plan=${c.plan} />` : null}
      <${CampaignPreview} form=${form} />

      <div class="dash-card form-actions final-actions">
        <button type="button" class="btn" onClick=${() => validateCampaign(toPayload(form))}
          disabled=${c.validation && c.validation.checking}>${c.validation && c.validation.checking ? "Checking…" : "Check"}</button>
        <button type="submit" class="btn primary" disabled=${saving || finished}>${saving ? "Saving…" : "Save campaign"}</button>
        <button type="button" class="btn" onClick=${() => go("campaigns")}>Cancel</button>
        <span class="check-result" role="status" aria-live="polite">
          ${c.validation && !c.validation.checking ? (c.validation.ok ? html`<span class="ok-text">No problems found.</span>`
            : html`<span class="error">${Object.keys(c.validation.errors).length} problem${Object.keys(c.validation.errors).length === 1 ? "" : "s"}: see the marked fields.</span>`) : null}
        </span>
        ${errors[""] ? html`<p class="error" role="alert">${errors[""]}</p>` : null}
      </div>
    </form>
  `;
}

function VariantContent({ v, i, kind, err, setContent, remove }) {
  const c = v.content;
  const at = (field) => err(`variants.${i}.content.${field}`) || (field === "text" ? err(`variants.${i}.content`) : "");
  const buttons = c.buttons || [];
  const setButton = (j, p) => setContent({ buttons: buttons.map((b, k) => (k === j ? { ...b, ...p } : b)) });
  return html`
    <section class="dash-card variant" aria-labelledby=${`ce-v-${v.key}`} data-variant=${v.key}>
      <div class="dash-card-head"><h2 id=${`ce-v-${v.key}`}>Variant ${v.key} — content</h2>
        ${remove ? html`<button type="button" class="btn small link danger" onClick=${remove}>Remove variant ${v.key}</button>` : null}</div>
      <div class="grid2">
        ${kind === "nps" ? html`<${Field} label="Question" hint="answered 0–10" error=${at("question")} wide>
          <textarea rows="2" maxlength="300" value=${c.question || ""} onInput=${(e) => setContent({ question: e.currentTarget.value })}></textarea></${Field}>`
          : html`<${Field} label="Opener text" error=${at("text")} wide>
          <textarea rows="2" maxlength="1000" value=${c.text} onInput=${(e) => setContent({ text: e.currentTarget.value })}></textarea></${Field}>`}
        ${kind === "nps" ? null : html`
          <${Field} label="Quick replies" hint="comma-separated" error=${at("quick_replies")}>
            <input type="text" value=${Array.isArray(c.quick_replies) ? c.quick_replies.join(", ") : c.quick_replies}
              onInput=${(e) => setContent({ quick_replies: e.currentTarget.value })} /></${Field}>
          <${Field} label="Follow-up" hint="after a “yes”" error=${at("followup")}>
            <input type="text" maxlength="1000" value=${c.followup || ""} onInput=${(e) => setContent({ followup: e.currentTarget.value })} /></${Field}>
          <label class="check"><input type="checkbox" checked=${!!c.products} onChange=${(e) => setContent({ products: e.currentTarget.checked })} />
            Recommend products</label>`}
      </div>
      ${kind === "nps" ? null : html`<fieldset class="buttons-set"><legend>Buttons</legend>
        ${buttons.map((b, j) => html`<div class="button-row">
          <input type="text" aria-label=${`Variant ${v.key} button ${j + 1} title`} placeholder="Title" value=${b.title} onInput=${(e) => setButton(j, { title: e.currentTarget.value })} />
          <input type="text" aria-label=${`Variant ${v.key} button ${j + 1} payload`} placeholder="Payload (optional)" value=${b.payload || ""} onInput=${(e) => setButton(j, { payload: e.currentTarget.value })} />
          <button type="button" class="btn small link danger" onClick=${() => setContent({ buttons: buttons.filter((_, k) => k !== j) })} aria-label=${`Remove variant ${v.key} button ${j + 1}`}>Remove</button>
        </div>`)}
        <button type="button" class="btn small" onClick=${() => setContent({ buttons: [...buttons, { title: "", payload: "" }] })}>Add a button</button>
        ${at("buttons") ? html`<span class="field-error" role="alert">${at("buttons")}</span>` : null}
      </fieldset>`}
    </section>
  `;
}
