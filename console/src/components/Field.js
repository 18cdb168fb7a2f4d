/** A labelled form control with its hint and the server's message under it. */

import { html } from "../html.js";

/** A labelled control with its hint and the server's message under it. */
export function Field({ label, hint, error, children, wide }) {
  return html`
    <label class=${`field${error ? " invalid" : ""}${wide ? " wide" : ""}`}>
      <span class="field-label">${label}${hint ? html` <span class="hint">(${hint})</span>` : null}</span>
      ${children}
      ${error ? html`<span class="field-error" role="alert">${error}</span>` : null}
    </label>
  `;
}
