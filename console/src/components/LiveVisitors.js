/** Who is on the site now, and a one-click way to start a chat with them. */

import { useState } from "preact/hooks";
import { html } from "../html.js";
import { ago, visitorName } from "../format.js";
import { go, loadMoreLive, startChat } from "../actions/index.js";
import { LoadMore } from "./LoadMore.js";

const STATE_LABELS = { bot: "With the bot", queued: "Waiting for a person", assigned: "With" };

function pagePath(url) {
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch (_) {
    return "";
  }
}

export function LiveVisitors({ state }) {
  const { visitors, loaded, error, next, total, loading, status } = state.live;
  return html`
    <main class="dashboard live-visitors" id="main">
      <div class="dash-head">
        <h1>Visitors on the site</h1>
        <span class="live" role="status"><span class="live-dot" aria-hidden="true"></span>
          ${loaded ? `${Math.max(total || 0, visitors.length)} now` : "Loading…"}</span>
      </div>
      ${error ? html`<p class="dash-error" role="alert">Could not load the visitors: ${error}</p>` : null}
      ${loaded && !visitors.length ? html`<p class="dash-empty">Nobody is on the site right now.</p>` : null}
      <ul class="visitor-cards">
        ${visitors.map((v) => html`<${VisitorCard} key=${v.visitor_id} v=${v} now=${state.now} />`)}
      </ul>
      <${LoadMore} more=${!!next} loading=${loading} status=${status} onMore=${loadMoreLive} id="live" />
    </main>
  `;
}

function VisitorCard({ v, now }) {
  const [writing, setWriting] = useState(false);
  const [text, setText] = useState("");
  const [problem, setProblem] = useState("");
  const name = visitorName({ name: v.name, id: v.visitor_id });
  const chat = v.conversation;
  async function submit(event) {
    event.preventDefault();
    if (!text.trim()) return;
    const error = await startChat(v.visitor_id, text.trim());
    if (error) setProblem(error);
  }
  return html`
    <li class="visitor-card" data-visitor=${v.visitor_id}>
      <div class="vc-head">
        <span class="avatar" aria-hidden="true">${name.slice(0, 1).toUpperCase()}</span>
        <div class="vc-who">
          <strong>${name}</strong>
          <span class="vc-tags">
            <span class=${`tag ${v.returning ? "tag-returning" : "tag-new"}`}>${v.returning ? "Returning" : "New"}</span>
            ${v.identified ? html`<span class="tag">Identified</span>` : null}
          </span>
        </div>
        <span class="vc-time" title="Time on site">${ago(v.since, now) === "just now" ? "just arrived" : `on site ${ago(v.since, now)}`}</span>
      </div>
      <p class="vc-page">
        ${v.page_url ? html`<span class="vc-title">${v.page_title || pagePath(v.page_url)}</span>
          <span class="vc-path">${pagePath(v.page_url)}</span>` : html`<span class="muted">Page not reported</span>`}
      </p>
      <div class="vc-chat">
        ${chat ? html`<span class=${`chip state-${chat.state}`}>${STATE_LABELS[chat.state] || chat.state}${chat.agent ? ` ${chat.agent}` : ""}</span>
          <button type="button" class="btn small link" onClick=${() => go(`c/${chat.id}`)}>Open conversation</button>`
          : html`<span class="muted">Not chatting</span>`}
        ${writing ? null : html`<button type="button" class="btn small primary" onClick=${() => setWriting(true)}>Start chat</button>`}
      </div>
      ${writing ? html`
        <form class="vc-compose" onSubmit=${submit}>
          <label class="sr-only" for=${`first-${v.visitor_id}`}>First message to ${name}</label>
          <input id=${`first-${v.visitor_id}`} type="text" maxlength="2000" placeholder=${`Say hello to ${name}…`}
            value=${text} onInput=${(e) => setText(e.currentTarget.value)} autofocus />
          <button type="submit" class="btn small primary" disabled=${!text.trim()}>Send</button>
          <button type="button" class="btn small" onClick=${() => { setWriting(false); setProblem(""); }}>Cancel</button>
          ${problem ? html`<p class="error" role="alert">${problem}</p>` : null}
        </form>` : null}
    </li>
  `;
}
