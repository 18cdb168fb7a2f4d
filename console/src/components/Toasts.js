/** Short-lived messages (results of actions and errors). */

import { html } from "../html.js";
import { dismissToast } from "../actions/index.js";

export function Toasts({ toasts }) {
  return html`
    <div class="toasts" role="status" aria-live="polite">
      ${toasts.map((t) => html`
        <div class=${`toast toast-${t.kind}`} key=${t.id}>
          <span>${t.text}</span>
          <button type="button" class="btn small link" onClick=${() => dismissToast(t.id)} aria-label="Dismiss">×</button>
        </div>`)}
    </div>
  `;
}
