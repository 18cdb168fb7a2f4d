/** Banners that tell admins what to fix in the server's configuration. */

import { html } from "../html.js";

export function SystemWarnings({ state }) {
  const me = state.me || {};
  const warnings = state.systemWarnings || [];
  if (me.role !== "admin" || warnings.length === 0) return null;
  return html`
    <section class="banners" aria-label="Configuration warnings">
      ${warnings.map((w) => html`
        <div class="banner banner-config" role="status" key=${w.code}>
          <strong>Set <code>${w.setting}</code></strong>
          <span>${w.message}</span>
        </div>`)}
    </section>`;
}
