/**
 * Admins, development only: the mail the local catcher caught (DEV_MAIL_CATCHER_PORT).
 * A list of emails and the selected one: its headers, its plain text, and its
 * HTML part in a sandboxed frame (`sandbox=""`, `srcdoc`: no script, its own
 * opaque origin; the HTML never enters the console's own page).
 */

import { html } from "../html.js";
import { fullDate, when } from "../format.js";
import { loadDevMail, selectMail, setMailHtml } from "../actions/dev_mail.js";

const ONE_COLUMN = "(max-width: 900px)";

export function DevMail({ state }) {
  const d = state.devMail;
  const selected = d.messages.find((m) => m.id === d.selectedId) || null;
  return html`
    <main class="dashboard dev-mail" id="main">
      <div class="dash-head"><h1>Mail (development)</h1>
        <span class="muted">What Rapport sent, caught by the local mail catcher; nothing left this computer.</span>
        <button type="button" class="btn small dev-mail-refresh" onClick=${() => loadDevMail(false)}
          aria-busy=${d.loading ? "true" : undefined}>Refresh</button>
      </div>
      <p class="sr-only" role="status" aria-live="polite">${d.status}</p>
      ${d.error ? html`<p class="dash-error" role="alert">${d.error}</p>` : null}
      ${d.loaded && !d.messages.length ? html`
        <p class="dash-card dash-empty">No mail caught yet. Every email Rapport sends while running with make run appears here.</p>` : null}
      ${d.messages.length ? html`
        <div class="mail-layout">
          <${MailList} messages=${d.messages} selectedId=${d.selectedId} now=${state.now} />
          ${selected ? html`<${MailDetail} key=${selected.id} mail=${selected} showHtml=${d.showHtml} />` : null}
        </div>` : null}
    </main>
  `;
}

function MailList({ messages, selectedId, now }) {
  function open(id) {
    selectMail(id);
    // One column (phones): the email is below the list; take the reader there.
    if (window.matchMedia(ONE_COLUMN).matches) {
      requestAnimationFrame(() => {
        const title = document.getElementById("mail-title");
        if (title) title.focus();
      });
    }
  }
  // Up and down arrows move between the emails, as in a mail program.
  function onKeyDown(event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const buttons = [...event.currentTarget.querySelectorAll("button.mail-item")];
    const at = buttons.indexOf(document.activeElement);
    if (at < 0) return;
    const next = buttons[at + (event.key === "ArrowDown" ? 1 : -1)];
    if (next) {
      event.preventDefault();
      next.focus();
    }
  }
  return html`
    <section class="dash-card mail-list-card" aria-labelledby="mail-list-title">
      <h2 id="mail-list-title">Caught emails <span class="muted">(${messages.length}, newest first)</span></h2>
      <ul class="mail-list" onKeyDown=${onKeyDown}>
        ${messages.map((m) => html`
          <li>
            <button type="button" class=${`mail-item${m.id === selectedId ? " selected" : ""}`} data-mail=${m.id}
              aria-pressed=${m.id === selectedId ? "true" : "false"} onClick=${() => open(m.id)}>
              <span class="mail-subject">${m.subject || "(no subject)"}</span>
              <span class="mail-meta">
                <span class="mail-to">To ${m.to.join(", ") || "—"}</span>
                <time datetime=${m.received_at} title=${fullDate(m.received_at)}>${when(m.received_at, now)}</time>
              </span>
            </button>
          </li>`)}
      </ul>
    </section>
  `;
}

function MailDetail({ mail, showHtml }) {
  const headers = mail.headers || {};
  const date = headers.Date || fullDate(mail.received_at);
  const hasHtml = typeof mail.html === "string" && mail.html !== "";
  const asHtml = hasHtml && showHtml;
  return html`
    <section class="dash-card mail-detail" aria-labelledby="mail-title">
      <h2 id="mail-title" tabindex="-1">${mail.subject || "(no subject)"}</h2>
      <dl class="mail-headers">
        <dt>From</dt><dd>${mail.from || headers.From || "—"}</dd>
        <dt>To</dt><dd>${headers.To || mail.to.join(", ") || "—"}</dd>
        <dt>Subject</dt><dd>${mail.subject || "—"}</dd>
        <dt>Date</dt><dd>${date}</dd>
      </dl>
      ${hasHtml ? html`
        <div class="mail-parts" role="group" aria-label="Which part of the email to show">
          <button type="button" class="btn small" aria-pressed=${asHtml ? "false" : "true"} onClick=${() => setMailHtml(false)}>Plain text</button>
          <button type="button" class="btn small" aria-pressed=${asHtml ? "true" : "false"} onClick=${() => setMailHtml(true)}>HTML</button>
        </div>` : html`<p class="muted mail-note">Plain text only (no HTML part).</p>`}
      ${asHtml
        ? html`<iframe class="mail-html" sandbox="" srcdoc=${mail.html} title=${`HTML part of “${mail.subject || "the email"}”`}
            referrerpolicy="no-referrer"></iframe>`
        : html`<pre class="mail-text" tabindex="0" aria-label="Plain text of the email">${mail.text || "(empty)"}</pre>`}
    </section>
  `;
}
