/** Admins: outbound webhooks — add an endpoint, see its secret once, and its delivery log. */

import { useState } from "preact/hooks";
import { html } from "../html.js";
import { when } from "../format.js";
import {
  TOPICS, addWebhook, deleteWebhook, dismissSecret, loadDeliveries, loadMoreDeliveries, loadWebhooks, testWebhook,
  toggleWebhook,
} from "../actions/webhooks.js";
import { LoadMore } from "./LoadMore.js";

export function Webhooks({ state }) {
  const w = state.webhooks;
  return html`
    <main class="dashboard webhooks" id="main">
      <div class="dash-head"><h1>Webhooks</h1>
        <span class="muted">Signed POSTs to your systems when things happen (docs/webhooks.md).</span></div>
      ${w.error ? html`<p class="dash-error" role="alert">${w.error}</p>` : null}
      ${w.secret ? html`
        <div class="secret-box" role="status">
          <strong>Signing secret for webhook #${w.secret.id}</strong> — copy it now, it is not shown again:
          <code>${w.secret.value}</code>
          <button type="button" class="btn small" onClick=${dismissSecret}>Done</button>
        </div>` : null}
      <${AddForm} />
      <section class="dash-card" aria-labelledby="wh-list">
        <h2 id="wh-list">Endpoints</h2>
        ${w.loaded && !w.list.length ? html`<p class="muted">No webhooks yet.</p>` : null}
        <ul class="wh-list">
          ${w.list.map((hook) => html`
            <li class="wh-item" data-webhook=${hook.id}>
              <div class="wh-main">
                <code class="wh-url">${hook.url}</code>
                <span class="wh-topics">${hook.topics.join(", ")}</span>
                <span class="wh-counts">${["delivered", "pending", "failed"].map((k) => html`<span class=${`tag wh-${k}`}>${hook.deliveries[k] || 0} ${k}</span>`)}</span>
              </div>
              <div class="wh-actions">
                <button type="button" class="btn small" onClick=${() => loadDeliveries(hook.id)}>Delivery log</button>
                <button type="button" class="btn small" onClick=${() => testWebhook(hook)}>Send test</button>
                <button type="button" class="btn small" onClick=${() => toggleWebhook(hook)}>${hook.enabled ? "Disable" : "Enable"}</button>
                <button type="button" class="btn small link danger" onClick=${() => deleteWebhook(hook)}>Delete</button>
              </div>
            </li>`)}
        </ul>
      </section>
      ${w.openId ? html`<${DeliveryLog} id=${w.openId} w=${w} now=${state.now} />` : null}
    </main>
  `;
}

function AddForm() {
  const [url, setUrl] = useState("");
  const [topics, setTopics] = useState(["conversation.created", "conversation.resolved"]);
  const [problem, setProblem] = useState("");
  async function submit(event) {
    event.preventDefault();
    const error = await addWebhook(url.trim(), topics);
    setProblem(error || "");
    if (!error) setUrl("");
  }
  const flip = (topic) => setTopics(topics.includes(topic) ? topics.filter((t) => t !== topic) : [...topics, topic]);
  return html`
    <form class="dash-card wh-form" onSubmit=${submit} aria-label="Add a webhook">
      <h2>Add a webhook</h2>
      <label>Endpoint URL
        <input type="url" required placeholder="https://example.com/rapport-hook" value=${url}
          onInput=${(e) => setUrl(e.currentTarget.value)} maxlength="2000" /></label>
      <fieldset><legend>Topics</legend>
        ${TOPICS.map((t) => html`<label class="check"><input type="checkbox" checked=${topics.includes(t)} onChange=${() => flip(t)} /> ${t}</label>`)}
      </fieldset>
      <button type="submit" class="btn primary" disabled=${!url.trim() || !topics.length}>Add webhook</button>
      ${problem ? html`<p class="error" role="alert">${problem}</p>` : null}
    </form>
  `;
}

function DeliveryLog({ id, w, now }) {
  const deliveries = w.deliveries;
  return html`
    <section class="dash-card" aria-labelledby="wh-log">
      <div class="dash-card-head"><h2 id="wh-log">Delivery log — webhook #${id}</h2>
        <button type="button" class="btn small" onClick=${loadWebhooks}>Refresh</button></div>
      ${!deliveries.length ? html`<p class="muted">Nothing delivered yet.</p>` : html`
        <div class="table-scroll" tabindex="0" role="region" aria-label=${`Delivery log of webhook #${id} (scrolls sideways)`}><table class="data">
          <thead><tr>${["#", "Topic", "Status", "Attempts", "Response", "Created", "Next try"].map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
          <tbody>${deliveries.map((d) => html`<tr data-status=${d.status}>
            <td>${d.id}</td><td>${d.topic}</td><td><span class=${`tag wh-${d.status}`}>${d.status}</span></td>
            <td>${d.attempts}</td><td title=${d.last_error || ""}>${d.last_status || d.last_error || "—"}</td>
            <td>${when(d.created_at, now)}</td><td>${d.next_attempt_at ? when(d.next_attempt_at, now) : "—"}</td>
          </tr>`)}</tbody>
        </table></div>`}
      <${LoadMore} more=${!!w.next} loading=${w.loading} status=${w.status} onMore=${loadMoreDeliveries} id="deliveries" />
    </section>
  `;
}
