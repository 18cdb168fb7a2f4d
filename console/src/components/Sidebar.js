/** Left column: the views (with live counts) and the list of the current view. */

import { html } from "../html.js";
import { viewList, isMine } from "../store.js";
import { VIEW_LABELS, REASON_LABELS, visitorName, initials, when, ago, preview, agentName } from "../format.js";
import { go, loadMore } from "../actions/index.js";
import { LoadMore } from "./LoadMore.js";
import { Followups } from "./Followups.js";

const TABS = ["mine", "queue", "bot", "open", "resolved", "followups"];

export function Sidebar({ state, counts }) {
  const view = state.view;
  return html`
    <nav class="sidebar" aria-label="Conversations">
      <ul class="views">
        ${TABS.map((tab) => {
          const count = tab === "resolved" ? null : counts[tab];
          const current = view === tab;
          return html`<li>
            <a href=${`#/${tab}`} class=${`view-tab${current ? " current" : ""}`} aria-current=${current ? "page" : undefined}
              data-view=${tab}>
              <span class="view-name">${VIEW_LABELS[tab]}</span>
              ${count !== null && count !== undefined ? html`<span class="count" aria-label=${`${count} ${tab === "followups" ? "follow-ups" : "conversations"}`}>${count}</span>` : null}
              ${tab === "mine" && counts.unread > 0
                ? html`<span class="badge" aria-label=${`${counts.unread} unread`}>${counts.unread}</span>` : null}
            </a>
          </li>`;
        })}
      </ul>
      ${view === "followups"
        ? html`<${Followups} state=${state} />`
        : html`<${ConversationList} state=${state} view=${view} />`}
    </nav>
  `;
}

const EMPTY = {
  mine: "No conversations assigned to you.",
  queue: "Nobody is waiting. 🎉",
  bot: "No visitor is talking to the bot right now.",
  open: "No open conversations.",
  resolved: "No resolved conversations yet.",
};

function ConversationList({ state, view }) {
  const list = viewList(state, view);
  const page = state.pages[view];
  return html`
    <section class="list" aria-labelledby="list-title">
      <h2 id="list-title" class="list-title">${VIEW_LABELS[view]}</h2>
      ${list.length === 0 ? html`<p class="empty">${EMPTY[view]}</p>` : null}
      <ul class="conv-list">
        ${list.map((c) => html`<${ConversationItem} key=${c.id} c=${c} state=${state} view=${view} />`)}
      </ul>
      <${LoadMore} more=${!!(page && page.next)} loading=${!!(page && page.loading)} status=${page && page.status}
        onMore=${() => loadMore(view)} id=${view} label=${view === "resolved" ? "Load older" : "Load more"} />
    </section>
  `;
}

function ConversationItem({ c, state, view }) {
  const name = visitorName(c.visitor, c.visitor_id);
  const selected = state.selectedId === c.id;
  const mine = isMine(c, state.me);
  const unread = mine && c.unread > 0 ? c.unread : 0;
  const online = c.visitor && c.visitor.online;
  const pending = !!state.pending[c.id];
  const chips = [];
  if (view === "open") chips.push(html`<span class=${`chip state-${c.state}`}>${stateChip(c, state.me)}</span>`);
  if (view === "queue") {
    chips.push(html`<span class="chip">${REASON_LABELS[c.handoff_reason] || "Waiting"}</span>`);
    chips.push(html`<span class="chip warn">waiting ${ago(c.queued_at || c.updated_at, state.now)}</span>`);
  }
  if (view === "resolved" && c.assigned_agent) chips.push(html`<span class="chip">${agentName(c.assigned_agent, state.me)}</span>`);
  if (c.csat && c.csat.score) chips.push(html`<span class="chip csat" aria-label=${`Rated ${c.csat.score} out of 5`}>★ ${c.csat.score}</span>`);
  const time = view === "resolved" ? c.resolved_at : (c.last_message && c.last_message.created_at) || c.updated_at;
  return html`
    <li>
      <a href=${`#/c/${c.id}`} class=${`conv${selected ? " selected" : ""}${unread || pending ? " unread" : ""}`}
        aria-current=${selected ? "true" : undefined} data-conversation-id=${c.id}
        onClick=${(e) => { e.preventDefault(); go(`c/${c.id}`); }}>
        <span class="avatar" aria-hidden="true">${initials(name)}
          <span class=${`presence ${online ? "on" : "off"}`}></span></span>
        <span class="conv-main">
          <span class="conv-top">
            <span class="conv-name">${name}</span>
            <span class="conv-time">${when(time, state.now)}</span>
          </span>
          <span class="conv-preview">${preview(c.last_message, state.me, c) || "No messages yet"}</span>
          ${chips.length ? html`<span class="conv-chips">${chips}</span>` : null}
        </span>
        <span class="sr-only">${online ? ", visitor online" : ", visitor offline"}</span>
        ${unread ? html`<span class="badge" aria-label=${`${unread} unread`}>${unread}</span>` : null}
      </a>
    </li>
  `;
}

export function stateChip(c, me) {
  if (c.state === "assigned") return isMine(c, me) ? "Mine" : `With ${agentName(c.assigned_agent, me)}`;
  return { bot: "Bot", queued: "Queued", resolved: "Resolved" }[c.state] || c.state;
}
