/** The `?` overlay: the inbox's keyboard shortcuts (a modal dialog; the focus goes back where it was). */

import { useEffect, useRef } from "preact/hooks";
import { html } from "../html.js";
import { SHORTCUTS } from "../shortcuts.js";
import { Modal } from "./Modal.js";

export function ShortcutsHelp() {
  const before = useRef(typeof document !== "undefined" ? document.activeElement : null);
  useEffect(() => () => {
    // After the dialog has left the page (while it is open, the page behind is inert).
    const el = before.current;
    setTimeout(() => {
      if (el && el.isConnected && typeof el.focus === "function") el.focus();
    }, 0);
  }, []);
  return html`
    <${Modal} title="Keyboard shortcuts" id="shortcuts">
      <table class="shortcuts-table">
        <caption class="sr-only">Keys and what they do</caption>
        <thead><tr><th scope="col">Key</th><th scope="col">Action</th></tr></thead>
        <tbody>
          ${SHORTCUTS.map((s) => html`
            <tr key=${s.action}>
              <td>${s.keys.map((k, i) => html`${i ? " or " : ""}<kbd>${k}</kbd>`)}</td>
              <td>${s.label}</td>
            </tr>`)}
        </tbody>
      </table>
      <p class="muted small">Shortcuts work when you are not typing in a field. Enter sends, Shift+Enter adds a line.</p>
    <//>
  `;
}
