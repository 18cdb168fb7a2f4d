/** Campaigns: the list with lifecycle actions; the editor and results pages are their own modules. */

import { html } from "../html.js";
import { ACTIONS, KINDS } from "../campaign_form.js";
import { ACTION_LABELS, campaignAction } from "../actions/index.js";
import { CampaignEditor } from "./CampaignEditor.js";
import { Results } from "./Results.js";

const when = (v) => (v ? new Date(v).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "");

export function Campaigns({ state }) {
  const c = state.campaigns;
  const open = c.openId !== null && c.openId !== undefined;
  if (open && c.results) return html`<${Results} state=${state} />`;
  return html`
    <main class="dashboard engage" id="main">
      <div class="dash-head"><h1>${open ? (c.openId === "new" ? "New campaign" : "Edit campaign") : "Campaigns"}</h1>
        <span class="muted">Who is addressed, when and with what; every campaign is an experiment (docs/campaigns.md).</span>
        ${open ? null : html`<a class="btn primary small head-action" href="#/campaigns/new">New campaign</a>`}</div>
      ${c.error ? html`<p class="dash-error" role="alert">${c.error}</p>` : null}
      ${open ? html`<${CampaignEditor} key=${`${c.openId}-${c.item ? `${c.item.id}-${c.item.status}-${c.item.updated_at}` : ""}`} state=${state} />`
        : html`<${CampaignList} c=${c} />`}
    </main>
  `;
}

export function schedule(x) {
  if (x.starts_at && x.ends_at) return `${when(x.starts_at)} – ${when(x.ends_at)}`;
  if (x.starts_at) return `from ${when(x.starts_at)}`;
  if (x.ends_at) return `until ${when(x.ends_at)}`;
  return "—";
}

function exposures(x) {
  const n = x.exposures ?? x.exposed ?? (x.stats && x.stats.exposed);
  return n === null || n === undefined ? "—" : Number(n).toLocaleString();
}

function CampaignList({ c }) {
  const list = c.list.filter((x) => x.status !== "archived");
  return html`
    <section class="dash-card" aria-labelledby="camp-list">
      <h2 id="camp-list">Campaigns</h2>
      ${c.loaded && !list.length ? html`<p class="muted">No campaigns yet.</p>` : null}
      ${list.length ? html`
        <div class="table-scroll" tabindex="0" role="region" aria-label="Campaigns (scrolls sideways)"><table class="data camp-table">
          <thead><tr>${["Name", "Status", "Priority", "Kind", "Schedule", "Exposures", "Actions"].map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
          <tbody>${list.map((x) => html`<tr data-campaign=${x.id}>
            <td><a href=${`#/campaigns/${x.id}`}>${x.name}</a>${x.version > 1 ? html` <span class="tag">v${x.version}</span>` : null}</td>
            <td><span class=${`chip status-${x.status}`}>${x.status}</span></td>
            <td class="num">${x.priority}</td>
            <td>${KINDS[x.kind] || x.kind}</td>
            <td>${schedule(x)}</td>
            <td class="num">${exposures(x)}</td>
            <td class="row-actions">
              <a class="btn small" href=${`#/campaigns/${x.id}/results`}>Results</a>
              ${(ACTIONS[x.status] || []).map((verb) => html`
                <button type="button" class=${`btn small${verb === "end" || verb === "archive" ? " link danger" : ""}`}
                  onClick=${() => campaignAction(x, verb)} aria-label=${`${ACTION_LABELS[verb]} ${x.name}`}>${ACTION_LABELS[verb]}</button>`)}
            </td>
          </tr>`)}</tbody>
        </table></div>` : null}
    </section>
  `;
}
