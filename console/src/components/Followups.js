/** Follow-ups: messages visitors left when nobody was online. */

import { html } from "../html.js";
import { when, fullDate } from "../format.js";
import { loadFollowups, loadMoreFollowups, followupDone, go } from "../actions/index.js";
import { LoadMore } from "./LoadMore.js";

export function Followups({ state }) {
  const status = state.followupStatus;
  const list = state.followups;
  return html`
    <section class="list" aria-labelledby="list-title">
      <div class="list-head">
        <h2 id="list-title" class="list-title">Follow-ups</h2>
        <div class="segmented" role="group" aria-label="Show follow-ups">
          ${["open", "done"].map((s) => html`
            <button type="button" aria-pressed=${status === s} class=${status === s ? "on" : ""}
              onClick=${() => loadFollowups(s)}>${s === "open" ? "Open" : "Done"}</button>`)}
        </div>
      </div>
      ${!list.length && !state.followupsLoading
        ? html`<p class="empty">${status === "open" ? "No open follow-ups." : "Nothing marked done yet."}</p>` : null}
      <ul class="followups">
        ${list.map((f) => html`
          <li class="followup" key=${f.id}>
            <div class="followup-top">
              <a class="followup-email" href=${`mailto:${f.email || ""}`}>${f.email || "(no email)"}</a>
              <time datetime=${f.created_at} title=${fullDate(f.created_at)}>${when(f.created_at, state.now)}</time>
            </div>
            <p class="followup-message">${f.message}</p>
            <div class="followup-actions">
              ${f.conversation_id ? html`<button type="button" class="btn small" onClick=${() => go(`c/${f.conversation_id}`)}>Open conversation</button>` : null}
              ${f.status === "open"
                ? html`<button type="button" class="btn small primary" onClick=${() => followupDone(f.id)}>Mark done</button>`
                : html`<span class="chip ok">Done</span>`}
            </div>
          </li>`)}
      </ul>
      <${LoadMore} more=${!!state.followupsPage.next} loading=${state.followupsPage.loading}
        status=${state.followupsPage.status} onMore=${loadMoreFollowups} id="followups" />
    </section>
  `;
}
