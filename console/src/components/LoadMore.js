/**
 * "Load more" under a paged list, and a polite live region that tells screen
 * reader users what the last click loaded ("Loaded 30 more; 80 shown").
 * The button is never `disabled` while a page loads: that would drop the
 * keyboard focus; the actions ignore a second click instead.
 */

import { html } from "../html.js";

export function LoadMore({ more, loading, onMore, status, label = "Load more", id }) {
  return html`
    <div class="load-more">
      ${more ? html`<button type="button" class="btn link wide" onClick=${onMore}
        aria-disabled=${loading ? "true" : undefined} aria-busy=${loading ? "true" : undefined} data-load-more=${id || ""}>${label}</button>` : null}
      <p class="sr-only" role="status" aria-live="polite">${status || ""}</p>
    </div>
  `;
}
