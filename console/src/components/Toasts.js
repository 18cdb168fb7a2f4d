/** Short-lived messages (results of actions and errors); an Undo button while Resolve or Hand back waits. */

import { html } from "../html.js";
import { dismissToast, undo } from "../actions/index.js";

export function Toasts({ toasts }) {
  return html`
    <div class="toasts" role="status" aria-live="polite">
      ${toasts.map((t) => html`
        <div class=${`toast toast-${t.kind}`} key=${t.id}>
          <span>${t.text}</span>
          ${t.undo !== undefined ? html`
            <button type="button" class="btn small undo-btn" onClick=${() => undo(t.undo)}>Undo</button>` : null}
          <button type="button" class="btn small link" onClick=${() => dismissToast(t.id)} aria-label="Dismiss">×</button>
        </div>`)}
    </div>
  `;
}
