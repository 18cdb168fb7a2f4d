/** The "who and when" of a campaign: page, behaviour, visitor, source, context and dates. */

import { html } from "../html.js";
import { DEVICES } from "../campaign_form.js";
import { Field } from "./Field.js";

const lines = (v) => (Array.isArray(v) ? v.join("\n") : v || "");

export function CampaignRules({ form, update, err, segments }) {
  // (form.rules holds everything here, the segment and the dates included.)
  const r = form.rules;
  const set = (p) => update({ rules: { ...r, ...p } });
  const at = (key) => err(`rules.${key}`);
  const text = (key, label, hint, extra) => html`
    <${Field} label=${label} hint=${hint} error=${at(key)}>
      <input type="text" maxlength="500" value=${Array.isArray(r[key]) ? r[key].join(", ") : r[key] || ""} onInput=${(e) => set({ [key]: e.currentTarget.value })} ...${extra || {}} /></${Field}>`;
  const number = (key, label, hint, min = 0, max) => html`
    <${Field} label=${label} hint=${hint} error=${at(key)}>
      <input type="number" min=${min} max=${max} step="1" value=${r[key] ?? ""} onInput=${(e) => set({ [key]: e.currentTarget.value })} /></${Field}>`;
  const check = (key, label) => html`
    <label class=${`check${at(key) ? " invalid" : ""}`}><input type="checkbox" checked=${!!r[key]} onChange=${(e) => set({ [key]: e.currentTarget.checked })} />
      <span>${label}${at(key) ? html`<br /><span class="field-error" role="alert">${at(key)}</span>` : null}</span></label>`;
  const devices = Array.isArray(r.devices) ? r.devices : [];
  return html`
    <section class="dash-card" aria-labelledby="ce-rules">
      <h2 id="ce-rules">Who and when</h2>
      <h3>Pages</h3>
      <div class="grid3">
        <${Field} label="Show on URLs" hint="globs, one a line, e.g. /products/*" error=${at("url_include")}>
          <textarea rows="2" value=${lines(r.url_include)} onInput=${(e) => set({ url_include: e.currentTarget.value })}></textarea></${Field}>
        <${Field} label="Never on URLs" hint="globs, one a line" error=${at("url_exclude")}>
          <textarea rows="2" value=${lines(r.url_exclude)} onInput=${(e) => set({ url_exclude: e.currentTarget.value })}></textarea></${Field}>
        ${text("url_regex", "URL regular expression", "experts; optional", { spellcheck: false })}
      </div>
      <h3>Behaviour on the page</h3>
      <div class="grid3">
        ${number("active_seconds", "Time on page, seconds", "active tab only")}
        ${number("scroll_percent", "Scroll depth, %", null, 0, 100)}
        ${number("idle_seconds", "Idle for, seconds")}
        ${text("site_trigger", "Site trigger name", "Rapport.trigger(name)")}
        ${check("exit_intent", "On exit intent (desktop)")}
      </div>
      <h3>Visitor</h3>
      <div class="grid3">
        <${Field} label="Segment" error=${at("segment_id")}>
          <select value=${r.segment_id || ""} onChange=${(e) => set({ segment_id: e.currentTarget.value || null })}>
            <option value="">Everyone</option>
            ${segments.map((s) => html`<option value=${s.id}>${s.name}</option>`)}</select></${Field}>
        <${Field} label="New or returning" error=${at("visitor")}>
          <select value=${r.visitor} onChange=${(e) => set({ visitor: e.currentTarget.value })}>
            <option value="any">Both</option><option value="new">New visitors</option><option value="returning">Returning visitors</option></select></${Field}>
        ${number("visits_min", "Visits, at least", null, 1)}
        ${number("visits_max", "Visits, at most", null, 1)}
        ${number("days_since_last_visit_min", "Days since the last visit, at least")}
        ${number("days_since_last_visit_max", "Days since the last visit, at most")}
        ${text("languages", "Languages", "comma-separated, e.g. en, pt-br")}
        <fieldset class=${`inline-set${at("devices") ? " invalid" : ""}`}><legend>Devices <span class="hint">(none: all)</span></legend>
          ${DEVICES.map((d) => html`<label class="check"><input type="checkbox" checked=${devices.includes(d)}
            onChange=${(e) => set({ devices: e.currentTarget.checked ? [...devices, d] : devices.filter((x) => x !== d) })} /> ${d}</label>`)}
          ${at("devices") ? html`<span class="field-error" role="alert">${at("devices")}</span>` : null}
        </fieldset>
      </div>
      <h3>Source</h3>
      <div class="grid3">
        ${text("utm_source", "UTM source", "comma-separated")}
        ${text("utm_medium", "UTM medium", "comma-separated")}
        ${text("utm_campaign", "UTM campaign", "comma-separated")}
        ${text("referrer_host", "Referrer host", "e.g. google.com, *.example.com")}
      </div>
      <h3>Context and dates</h3>
      <div class="grid3">
        ${check("business_hours_only", "Only in business hours")}
        ${check("require_agent_capacity", "Only when an agent with free capacity is online")}
        <${Field} label="Starts" hint="empty: when started" error=${at("starts_at")}>
          <input type="datetime-local" value=${r.starts_at} onInput=${(e) => set({ starts_at: e.currentTarget.value })} /></${Field}>
        <${Field} label="Ends" hint="empty: until ended" error=${at("ends_at")}>
          <input type="datetime-local" value=${r.ends_at} onInput=${(e) => set({ ends_at: e.currentTarget.value })} /></${Field}>
      </div>
      ${err("rules") && !Object.keys(r).some((k) => at(k)) ? html`<p class="field-error" role="alert">${err("rules")}</p>` : null}
    </section>
  `;
}
