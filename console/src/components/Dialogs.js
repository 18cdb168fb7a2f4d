/** Modal dialogs (native <dialog>: focus trap and Escape for free): transfer, canned responses, settings, shortcuts. */

import { useState } from "preact/hooks";
import { html } from "../html.js";
import { closeDialog, transfer, addCanned, deleteCanned, setNotifyMode, enableNotifications, signOutEverywhere } from "../actions/index.js";
import { STATUS_LABELS } from "../format.js";
import { Icon } from "./icons.js";
import { Modal } from "./Modal.js";
import { ShortcutsHelp } from "./ShortcutsHelp.js";

export function Dialogs({ state }) {
  const d = state.dialog;
  if (!d) return null;
  if (d.type === "transfer") return html`<${TransferDialog} state=${state} cid=${d.conversationId} />`;
  if (d.type === "canned") return html`<${CannedDialog} state=${state} />`;
  if (d.type === "settings") return html`<${SettingsDialog} state=${state} />`;
  if (d.type === "shortcuts") return html`<${ShortcutsHelp} />`;
  return null;
}

/**
 * Valid transfer targets only (the server refuses anything else, see
 * docs/agent-api.md): agents and admins who are online with their console
 * connected, active, below their maximum of chats; or back to the queue.
 */
export function transferTargets(agents, meId) {
  return Object.values(agents)
    .filter((a) => a.id !== meId && a.active !== false && a.role !== "marketer"
      && a.status === "online" && a.connected !== false && (a.active_chats || 0) < (a.max_chats || 0))
    .sort((a, b) => (a.active_chats || 0) - (b.active_chats || 0) || a.display_name.localeCompare(b.display_name));
}

const QUEUE = "queue";

function TransferDialog({ state, cid }) {
  const me = state.me || {};
  const targets = transferTargets(state.agents, me.id);
  const [choice, setChoice] = useState(null);
  const [note, setNote] = useState("");
  const busy = state.busy[cid] === "transfer";
  const chosen = choice !== null ? choice : targets.length ? targets[0].id : QUEUE;

  function submit(e) {
    e.preventDefault();
    transfer(cid, chosen === QUEUE ? null : chosen, note.trim());
  }

  return html`
    <${Modal} title="Transfer conversation" id="transfer">
      <form onSubmit=${submit}>
        <fieldset class="agent-pick">
          <legend>Transfer to</legend>
          ${targets.map((a) => html`
            <label class="agent-option">
              <input type="radio" name="agent" value=${a.id} checked=${chosen === a.id}
                onChange=${() => setChoice(a.id)} />
              <span class=${`dot status-${a.status}`} aria-hidden="true"></span>
              <span class="agent-name">${a.display_name}</span>
              <span class="muted">${STATUS_LABELS[a.status] || a.status} · ${a.active_chats || 0}/${a.max_chats} chats</span>
            </label>`)}
          <label class="agent-option">
            <input type="radio" name="agent" value="queue" checked=${chosen === QUEUE}
              onChange=${() => setChoice(QUEUE)} />
            <span class="agent-name">Back to the queue</span>
            <span class="muted">the next free agent takes it, ahead of newer chats</span>
          </label>
        </fieldset>
        ${!targets.length ? html`<p class="muted">Nobody else is online with a free seat right now.</p>` : null}
        <label for="transfer-note">Note for the next agent <span class="hint">(optional, internal)</span></label>
        <textarea id="transfer-note" rows="3" value=${note} onInput=${(e) => setNote(e.currentTarget.value)}
          placeholder="What has been done so far?"></textarea>
        ${state.conflicts[cid] ? html`<p class="form-error" role="alert">${state.conflicts[cid]}</p>` : null}
        <div class="modal-actions">
          <button type="button" class="btn" onClick=${closeDialog}>Cancel</button>
          <button type="submit" class="btn primary" disabled=${busy}>${busy ? "Transferring…" : "Transfer"}</button>
        </div>
      </form>
    </${Modal}>
  `;
}

function CannedDialog({ state }) {
  const [shortcut, setShortcut] = useState("");
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(e) {
    e.preventDefault();
    const sc = shortcut.trim().replace(/^\//, "").toLowerCase();
    if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(sc)) {
      setError("Shortcut: 1–32 lower-case letters, digits, _ or -.");
      return;
    }
    if (!text.trim()) {
      setError("Write the response text.");
      return;
    }
    setBusy(true);
    const message = await addCanned(sc, text.trim());
    setBusy(false);
    if (message) setError(message);
    else {
      setShortcut("");
      setText("");
      setError("");
    }
  }

  return html`
    <${Modal} title="Canned responses" id="canned" wide>
      <p class="muted">Type <kbd>/</kbd> and the shortcut in the message box, then Tab or Enter to insert the text.</p>
      <ul class="canned-list">
        ${state.canned.length ? null : html`<li class="muted">No canned responses yet.</li>`}
        ${state.canned.map((c) => html`
          <li key=${c.id}>
            <span class="shortcut">/${c.shortcut}</span>
            <span class="canned-text">${c.text}</span>
            <button type="button" class="btn small link danger" onClick=${() => deleteCanned(c.id)}
              aria-label=${`Delete /${c.shortcut}`}><${Icon} name="trash" size=${16} /></button>
          </li>`)}
      </ul>
      <form class="canned-form" onSubmit=${submit}>
        <h3>Add a response</h3>
        <label for="canned-shortcut">Shortcut</label>
        <div class="input-prefix"><span aria-hidden="true">/</span>
          <input id="canned-shortcut" value=${shortcut} maxlength="33" placeholder="shipping"
            onInput=${(e) => setShortcut(e.currentTarget.value)} /></div>
        <label for="canned-text">Text</label>
        <textarea id="canned-text" rows="3" value=${text} onInput=${(e) => setText(e.currentTarget.value)}
          aria-describedby="canned-variables" placeholder="We ship within 2 working days."></textarea>
        <p class="muted" id="canned-variables">Variables: <code>{{contact.name}}</code>, <code>{{contact.email}}</code>,
          <code>{{agent.name}}</code>; a fallback after a bar: <code>{{contact.name|there}}</code>.</p>
        <p class="form-error" role="alert">${error}</p>
        <div class="modal-actions">
          <button type="submit" class="btn primary" disabled=${busy}>${busy ? "Adding…" : "Add response"}</button>
        </div>
      </form>
    </${Modal}>
  `;
}

function SettingsDialog({ state }) {
  const me = state.me || {};
  const mode = me.notify_mode || "always";
  const perm = state.notifyPermission;
  return html`
    <${Modal} title="Settings" id="settings">
      <fieldset class="radio-group">
        <legend>Notify me (sound and desktop alert)</legend>
        <label><input type="radio" name="notify" value="always" checked=${mode === "always"}
          onChange=${() => setNotifyMode("always")} /> Always</label>
        <label><input type="radio" name="notify" value="hidden" checked=${mode === "hidden"}
          onChange=${() => setNotifyMode("hidden")} /> Only when this tab is in the background</label>
      </fieldset>
      <p class="muted">Alerts repeat every 10 seconds until you open or answer the conversation.</p>
      <div class="setting-row">
        <span>Desktop notifications: <strong>${{ granted: "allowed", denied: "blocked in the browser", default: "not enabled", unsupported: "not supported" }[perm] || perm}</strong></span>
        ${perm === "default" ? html`<button type="button" class="btn small primary" onClick=${enableNotifications}>Enable</button>` : null}
        ${perm === "granted" ? html`<button type="button" class="btn small" onClick=${enableNotifications}>Test sound</button>` : null}
      </div>
      <div class="setting-row">
        <span>Signed in somewhere you should not be? This ends every session and your API token.</span>
        <button type="button" class="btn small" onClick=${signOutEverywhere}>Sign out everywhere</button>
      </div>
      <div class="modal-actions"><button type="button" class="btn primary" onClick=${closeDialog}>Done</button></div>
    </${Modal}>
  `;
}
