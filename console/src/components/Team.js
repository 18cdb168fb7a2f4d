/** Admins: every agent's account — who is signed in, sign-out everywhere, deactivate, reactivate. */

import { html } from "../html.js";
import { STATUS_LABELS } from "../format.js";
import { deactivateAgent, reactivateAgent, signOutAgent } from "../actions/team.js";

export function Team({ state }) {
  const t = state.team;
  const myId = (state.me || {}).id;
  return html`
    <main class="dashboard team" id="main">
      <div class="dash-head"><h1>Agents</h1>
        <span class="muted">Deactivated agents cannot sign in; their conversations and history stay.</span></div>
      ${t.error ? html`<p class="dash-error" role="alert">${t.error}</p>` : null}
      <section class="dash-card" aria-labelledby="team-list">
        <h2 id="team-list">Accounts</h2>
        ${t.loaded && !t.list.length ? html`<p class="muted">No agents yet.</p>` : null}
        <ul class="wh-list team-list">
          ${t.list.map((a) => html`
            <li class=${`wh-item team-item${a.active ? "" : " inactive"}`} data-agent=${a.id}>
              <div class="wh-main">
                <strong class="team-name">${a.display_name}${a.id === myId ? " (you)" : ""}</strong>
                <span class="wh-topics">${a.username} · ${a.role}</span>
                <span class="wh-counts">
                  ${a.active
                    ? html`<span class="tag">${STATUS_LABELS[a.status] || a.status}</span>
                      ${a.connected ? html`<span class="tag wh-delivered">connected</span>` : null}`
                    : html`<span class="tag wh-failed">deactivated</span>`}
                </span>
              </div>
              <div class="wh-actions">
                ${a.active ? html`
                  <button type="button" class="btn small" onClick=${() => signOutAgent(a)}
                    aria-label=${`Sign out everywhere: ${a.display_name}`}>Sign out everywhere</button>
                  <button type="button" class="btn small link danger" onClick=${() => deactivateAgent(a)}
                    aria-label=${`Deactivate ${a.display_name}`}>Deactivate</button>` : html`
                  <button type="button" class="btn small" onClick=${() => reactivateAgent(a)}
                    aria-label=${`Reactivate ${a.display_name}`}>Reactivate</button>`}
              </div>
            </li>`)}
        </ul>
      </section>
    </main>
  `;
}
