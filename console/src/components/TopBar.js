/** The top bar (brand, connection, my status, settings, sign out) and the banners under it. */

import { html } from "../html.js";
import { Icon } from "./icons.js";
import { STATUSES } from "../protocol.gen.js";
import { STATUS_LABELS } from "../format.js";
import { setStatus, openDialog, logout, enableNotifications, dismissPermissionBanner, go, canSeeAnalytics } from "../actions/index.js";

export function TopBar({ state }) {
  const me = state.me || {};
  const status = me.status || "offline";
  const marketer = me.role === "marketer";
  const section = state.section;
  const link = (target, label, hash) => html`
    <a href=${`#/${hash}`} class=${section === target ? "active" : ""} aria-current=${section === target ? "page" : null}
      onClick=${(e) => { e.preventDefault(); go(hash); }}>${label}</a>`;
  return html`
    <header class="topbar">
      <div class="brand"><span class="logo" aria-hidden="true">R</span><span class="brand-name">Rapport</span></div>
      <${Connection} connection=${state.connection} />
      <nav class="sections" aria-label="Sections">
          ${marketer ? null : link("inbox", "Inbox", "mine")}
          ${marketer ? null : link("live", "Visitors", "live")}
          ${canSeeAnalytics(me) ? link("dashboard", "Dashboard", "dashboard") : null}
          ${canSeeAnalytics(me) ? link("campaigns", "Campaigns", "campaigns") : null}
          ${canSeeAnalytics(me) ? link("segments", "Segments", "segments") : null}
          ${me.role === "admin" ? link("team", "Agents", "agents") : null}
          ${me.role === "admin" ? link("webhooks", "Webhooks", "webhooks") : null}
          ${me.role === "admin" && state.devMail.available ? link("devmail", "Mail (dev)", "mail") : null}
        </nav>
      <div class="topbar-right">
        ${marketer ? null : html`<label class=${`status-select status-${status}`}>
          <span class="dot" aria-hidden="true"></span>
          <span class="sr-only">Your status</span>
          <select aria-label="Your status" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
            ${STATUSES.map((s) => html`<option value=${s}>${STATUS_LABELS[s] || s}</option>`)}
          </select>
        </label>`}
        ${marketer ? null : html`<button type="button" class="btn icon-btn" onClick=${() => openDialog("canned")} title="Canned responses">
          <${Icon} name="bolt" /><span class="btn-label">Canned responses</span>
        </button>`}
        <button type="button" class="btn icon-btn" onClick=${() => openDialog("settings")} title="Settings">
          <${Icon} name="settings" /><span class="btn-label">Settings</span>
        </button>
        <span class="me" title=${me.username || ""}>
          <span class="avatar small" aria-hidden="true">${(me.display_name || "?").slice(0, 1).toUpperCase()}</span>
          <span class="me-name">${me.display_name}</span>
        </span>
        <button type="button" class="btn icon-btn" onClick=${logout} title="Sign out">
          <${Icon} name="logout" /><span class="btn-label">Sign out</span>
        </button>
      </div>
    </header>
  `;
}

function Connection({ connection }) {
  if (connection === "online") return html`<span class="conn conn-online"><span class="sr-only">Connected</span></span>`;
  const text = connection === "reconnecting" ? "Reconnecting…" : "Connecting…";
  return html`<span class="conn conn-wait" role="status">${text}</span>`;
}

export function Banners({ state }) {
  const me = state.me || {};
  const items = [];
  if (state.notifyPermission === "default" && !state.permissionBannerDismissed) {
    items.push(html`
      <div class="banner banner-info">
        <${Icon} name="bell" />
        <span>Get a desktop alert when a chat is assigned to you or a visitor writes.</span>
        <button type="button" class="btn small primary" onClick=${enableNotifications}>Enable notifications</button>
        <button type="button" class="btn small link" onClick=${dismissPermissionBanner}>Not now</button>
      </div>`);
  }
  if (me.status && me.status !== "online" && me.role !== "marketer" && state.section !== "dashboard") {
    items.push(html`
      <div class="banner banner-warn">
        <span>You are ${me.status === "away" ? "away" : "offline"}: no new conversations are assigned to you.</span>
        <button type="button" class="btn small" onClick=${() => setStatus("online")}>Go online</button>
      </div>`);
  }
  return items.length ? html`<div class="banners">${items}</div>` : null;
}
