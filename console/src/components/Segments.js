/**
 * Segments: the list (name, live size, the campaigns using it) and the editor
 * (conditions from the field registry, match all/any, the live size while
 * editing, the server's messages next to the fields).
 */

import { useEffect, useMemo, useState } from "preact/hooks";
import { html } from "../html.js";
import {
  OPERATOR_LABELS, emptyCondition, errorsUnder, inputKind, operatorsOf, toFilter,
} from "../campaign_form.js";
import { archiveSegment, go, previewSize, saveSegment } from "../actions/index.js";
import { Field } from "./Field.js";

const count = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString());
const fieldLabel = (f) => f.label || f.name;

export function Segments({ state }) {
  const s = state.segments;
  const editing = s.openId !== null && s.openId !== undefined;
  return html`
    <main class="dashboard engage" id="main">
      <div class="dash-head"><h1>${editing ? (s.openId === "new" ? "New segment" : "Edit segment") : "Segments"}</h1>
        <span class="muted">Saved filters over what Rapport knows about visitors (docs/segments.md).</span>
        ${editing ? null : html`<a class="btn primary small head-action" href="#/segments/new">New segment</a>`}</div>
      ${s.error ? html`<p class="dash-error" role="alert">${s.error}</p>` : null}
      ${editing ? html`<${SegmentEditor} key=${`${s.openId}-${s.item ? s.item.id : ""}`} s=${s} />` : html`<${SegmentList} s=${s} />`}
    </main>
  `;
}

function SegmentList({ s }) {
  const list = s.list.filter((x) => !x.archived_at);
  return html`
    <section class="dash-card" aria-labelledby="seg-list">
      <h2 id="seg-list">Saved segments</h2>
      ${s.loaded && !list.length ? html`<p class="muted">No segments yet. A segment is a saved, named filter a campaign can target.</p>` : null}
      ${list.length ? html`
        <div class="table-scroll" tabindex="0" role="region" aria-label="Segments (scrolls sideways)"><table class="data">
          <thead><tr><th scope="col">Name</th><th scope="col">Visitors now</th><th scope="col">Used by</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>${list.map((x) => html`<tr data-segment=${x.id}>
            <td><a href=${`#/segments/${x.id}`}>${x.name}</a>${x.description ? html`<div class="muted small-text">${x.description}</div>` : null}</td>
            <td class="num">${count(x.size ?? x.count)}</td>
            <td>${usedBy(x)}</td>
            <td><button type="button" class="btn small link danger" onClick=${() => archiveSegment(x)}>Archive</button></td>
          </tr>`)}</tbody>
        </table></div>` : null}
    </section>
  `;
}

function usedBy(segment) {
  const campaigns = segment.used_by || segment.campaigns || [];
  if (!campaigns.length) return html`<span class="muted">—</span>`;
  return campaigns.map((c, i) => html`${i ? ", " : ""}<a href=${`#/campaigns/${c.id}`}>${c.name}</a>`);
}

function SegmentEditor({ s }) {
  const fields = s.fields;
  const item = s.openId === "new" ? null : s.item;
  const initial = item && item.filter ? item.filter : null;
  const [name, setName] = useState(item ? item.name : "");
  const [description, setDescription] = useState(item ? item.description || "" : "");
  const [match, setMatch] = useState(initial ? initial.match || "all" : "all");
  const [conditions, setConditions] = useState(initial ? initial.conditions || [] : []);
  const [live, setLive] = useState({ counting: false, count: null, error: "", errors: {} });
  const [errors, setErrors] = useState({});
  const [saving, setSaving] = useState(false);
  const byName = useMemo(() => Object.fromEntries(fields.map((f) => [f.name, f])), [fields]);

  useEffect(() => {
    if (!conditions.length && fields.length && !item) setConditions([emptyCondition(fields)]);
  }, [fields.length]);

  const filter = toFilter(match, conditions, fields);
  const key = JSON.stringify(filter);
  useEffect(() => {
    if (!fields.length) return;
    previewSize(filter, (p) => setLive((old) => ({ ...old, ...p })));
  }, [key, fields.length]);

  if (s.openId !== "new" && !item) {
    return html`<p class="dash-empty" role="status">${s.itemError ? html`<span class="error">${s.itemError}</span>` : "Loading the segment…"}</p>`;
  }

  const change = (i, p) => setConditions(conditions.map((c, j) => (j === i ? { ...c, ...p } : c)));
  async function submit(event) {
    event.preventDefault();
    setSaving(true);
    const problems = await saveSegment(item ? item.id : null, { name: name.trim(), description: description.trim(), filter });
    setSaving(false);
    setErrors(problems || {});
  }
  const allErrors = { ...live.errors, ...errors };
  return html`
    <form class="dash-card editor" onSubmit=${submit} aria-label="Segment">
      <div class="grid2">
        <${Field} label="Name" error=${allErrors.name}>
          <input type="text" required maxlength="200" value=${name} onInput=${(e) => setName(e.currentTarget.value)} />
        </${Field}>
        <${Field} label="Description" hint="optional" error=${allErrors.description}>
          <input type="text" maxlength="500" value=${description} onInput=${(e) => setDescription(e.currentTarget.value)} />
        </${Field}>
      </div>
      <fieldset class="conditions">
        <legend>Visitors who match
          <select aria-label="Match" value=${match} onChange=${(e) => setMatch(e.currentTarget.value)}>
            <option value="all">all</option><option value="any">any</option>
          </select> of these conditions</legend>
        ${conditions.map((c, i) => html`
          <${Condition} index=${i} c=${c} fields=${fields} field=${byName[c.field]} change=${(p) => change(i, p)}
            remove=${() => setConditions(conditions.filter((_, j) => j !== i))}
            error=${errorsUnder(allErrors, `filter.conditions.${i}`) || errorsUnder(allErrors, `conditions.${i}`)} />`)}
        <button type="button" class="btn small" onClick=${() => setConditions([...conditions, emptyCondition(fields)])}
          disabled=${!fields.length}>Add a condition</button>
        ${errorsUnder(allErrors, "filter.match") ? html`<p class="field-error">${errorsUnder(allErrors, "filter.match")}</p>` : null}
      </fieldset>
      <p class="live-size" role="status" aria-live="polite">
        ${live.error && !Object.keys(live.errors).length ? html`<span class="error">Cannot count: ${live.error}</span>`
          : html`<strong data-size=${live.count ?? ""}>${count(live.count)}</strong> visitors match now${live.counting ? html` <span class="muted">(counting…)</span>` : ""}`}
      </p>
      ${allErrors[""] ? html`<p class="error" role="alert">${allErrors[""]}</p>` : null}
      <div class="form-actions">
        <button type="submit" class="btn primary" disabled=${saving || !name.trim()}>${saving ? "Saving…" : "Save segment"}</button>
        <button type="button" class="btn" onClick=${() => go("segments")}>Cancel</button>
        ${item ? html`<button type="button" class="btn link danger" onClick=${() => archiveSegment(item)}>Archive</button>` : null}
      </div>
    </form>
  `;
}

function Condition({ index, c, fields, field, change, remove, error }) {
  const ops = operatorsOf(field);
  const kind = inputKind(field, c.op);
  const n = index + 1;
  const choices = (field && (field.values || field.choices || field.options)) || [];
  const choiceValue = (v) => (typeof v === "object" ? v.value : v);
  const choiceLabel = (v) => (typeof v === "object" ? v.label || v.value : v);
  let input = null;
  const days = field && field.type === "days_ago" ? " (days)" : "";
  if (kind === "number") input = html`<input type="number" aria-label=${`Value of condition ${n}${days}`} min=${field.min} max=${field.max} value=${c.value} onInput=${(e) => change({ value: e.currentTarget.value })} />`;
  else if (kind === "date") input = html`<input type="date" aria-label=${`Value of condition ${n}`} value=${c.value} onInput=${(e) => change({ value: e.currentTarget.value })} />`;
  else if (kind === "boolean") {
    input = html`<select aria-label=${`Value of condition ${n}`} value=${String(c.value === true || c.value === "true")} onChange=${(e) => change({ value: e.currentTarget.value === "true" })}>
      <option value="true">yes</option><option value="false">no</option></select>`;
  } else if (kind === "select") {
    input = html`<select aria-label=${`Value of condition ${n}`} value=${c.value} onChange=${(e) => change({ value: e.currentTarget.value })}>
      <option value="">Choose…</option>${choices.map((v) => html`<option value=${choiceValue(v)}>${choiceLabel(v)}</option>`)}</select>`;
  } else if (kind === "multi") {
    const picked = Array.isArray(c.value) ? c.value : [];
    input = html`<select multiple aria-label=${`Values of condition ${n}`} size=${Math.min(4, choices.length)}
      onChange=${(e) => change({ value: [...e.currentTarget.selectedOptions].map((o) => o.value) })}>
      ${choices.map((v) => html`<option value=${choiceValue(v)} selected=${picked.includes(choiceValue(v))}>${choiceLabel(v)}</option>`)}</select>`;
  } else if (kind !== "none") {
    input = html`<input type="text" aria-label=${`Value of condition ${n}`} placeholder=${kind === "list" ? "comma-separated" : ""}
      value=${Array.isArray(c.value) ? c.value.join(", ") : c.value} onInput=${(e) => change({ value: e.currentTarget.value })} />`;
  }
  return html`
    <div class=${`condition${error ? " invalid" : ""}`} data-condition=${index}>
      <select aria-label=${`Field of condition ${n}`} value=${c.field} onChange=${(e) => {
        const f = fields.find((x) => x.name === e.currentTarget.value);
        change({ field: e.currentTarget.value, op: operatorsOf(f)[0], value: "" });
      }}>${fields.map((f) => html`<option value=${f.name}>${fieldLabel(f)}</option>`)}</select>
      <select aria-label=${`Operator of condition ${n}`} value=${c.op} onChange=${(e) => change({ op: e.currentTarget.value })}>
        ${ops.map((op) => html`<option value=${op}>${OPERATOR_LABELS[op] || op}</option>`)}</select>
      ${input}
      <button type="button" class="btn small link danger" onClick=${remove} aria-label=${`Remove condition ${n}`}>Remove</button>
      ${error ? html`<span class="field-error" role="alert">${error}</span>` : null}
    </div>
  `;
}
