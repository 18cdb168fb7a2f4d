/** Modal dialogs (native <dialog>: focus trap and Escape for free): transfer, canned responses, settings. */

import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { closeDialog, transfer, addCanned, deleteCanned, setNotifyMode, enableNotifications } from "../actions/index.js";
import { STATUS_LABELS } from "../format.js";
import { Icon } from "./icons.js";

export function Dialogs({ state }) {
  const d = state.dialog;
  if (!d) return null;
  if (d.type === "transfer") return html`<${TransferDialog} state=${state} cid=${d.conversationId} />`;
  if (d.type === "canned") return html`<${CannedDialog} state=${state} />`;
  if (d.type === "settings") return html`<${SettingsDialog} state=${state} />`;
  return null;
}

function Modal({ title, id, children, wide }) {
  const ref = useRef(null);
  useEffect(() => {
    const el = ref.current;
    if (el && !el.open) {
      if (typeof el.showModal === "function") el.showModal();
      else el.setAttribute("open", "");
    }
    const onClose = () => closeDialog();
    el.addEventListener("close", onClose);
    return () => el.removeEventListener("close", onClose);
  }, []);
  return html`
    <dialog ref=${ref} class=${`modal${wide ? " wide" : ""}`} aria-labelledby=${`${id}-title`}
      onClick=${(e) => { if (e.target === ref.current) closeDialog(); }}>
      <div class="modal-body">
        <div class="modal-head">
          <h2 id=${`${id}-title`}>${title}</h2>
          <button type="button" class="btn icon-btn" onClick=${closeDialog} aria-label="Close"><${Icon} name="close" /></button>
        </div>
        ${children}
      </div>
    </dialog>
  `;
}

function TransferDialog({ state, cid }) {
  const me = state.me || {};
  const agents = Object.values(state.agents).filter((a) => a.id !== me.id)
    .sort((a, b) => (a.status === "online" ? 0 : 1) - (b.status === "online" ? 0 : 1) || a.display_name.localeCompare(b.display_name));
  const online = agents.filter((a) => a.status === "online");
  const [agentId, setAgentId] = useState(null);
  const [note, setNote] = useState("");
  const busy = state.busy[cid] === "transfer";
  const chosen = agentId !== null ? agentId : online.length ? online[0].id : null;

  function submit(e) {
    e.preventDefault();
    if (chosen !== null) transfer(cid, chosen, note.trim());
  }

  return html`
    <${Modal} title="Transfer conversation" id="transfer">
      <form onSubmit=${submit}>
        ${agents.length ? html`
          <fieldset class="agent-pick">
            <legend>Transfer to</legend>
            ${agents.map((a) => {
              const full = a.max_chats && a.active_chats >= a.max_chats;
              return html`
                <label class=${`agent-option${a.status !== "online" ? " unavailable" : ""}`}>
                  <input type="radio" name="agent" value=${a.id} checked=${chosen === a.id}
                    disabled=${a.status !== "online"} onChange=${() => setAgentId(a.id)} />
                  <span class=${`dot status-${a.status}`} aria-hidden="true"></span>
                  <span class="agent-name">${a.display_name}</span>
                  <span class="muted">${STATUS_LABELS[a.status] || a.status}${a.status === "online" ? ` · ${a.active_chats || 0}/${a.max_chats || "?"} chats${full ? " (full)" : ""}` : ""}</span>
                </label>`;
            })}
          </fieldset>` : html`<p class="muted">No other agents.</p>`}
        ${agents.length && !online.length ? html`<p class="form-error">Nobody else is online right now.</p>` : null}
        <label for="transfer-note">Note for the next agent <span class="hint">(optional, internal)</span></label>
        <textarea id="transfer-note" rows="3" value=${note} onInput=${(e) => setNote(e.currentTarget.value)}
          placeholder="What has been done so far?"></textarea>
        ${state.conflicts[cid] ? html`<p class="form-error" role="alert">${state.conflicts[cid]}</p>` : null}
        <div class="modal-actions">
          <button type="button" class="btn" onClick=${closeDialog}>Cancel</button>
          <button type="submit" class="btn primary" disabled=${chosen === null || busy}>${busy ? "Transferring…" : "Transfer"}</button>
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
          placeholder="We ship within 2 working days."></textarea>
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
      <div class="modal-actions"><button type="button" class="btn primary" onClick=${closeDialog}>Done</button></div>
    </${Modal}>
  `;
}
