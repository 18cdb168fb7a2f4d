/** Root: picks the screen (login, password change, console) from the store. */

import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { getState, subscribe, counts } from "../store.js";
import { Login, ChangePassword } from "./Login.js";
import { TopBar, Banners } from "./TopBar.js";
import { Sidebar } from "./Sidebar.js";
import { Conversation, EmptyConversation } from "./Conversation.js";
import { VisitorPanel } from "./VisitorPanel.js";
import { Dialogs } from "./Dialogs.js";
import { Toasts } from "./Toasts.js";
import { Dashboard } from "./Dashboard.js";
import { LiveVisitors } from "./LiveVisitors.js";
import { Webhooks } from "./Webhooks.js";
import { DevMail } from "./DevMail.js";
import { SystemWarnings } from "./SystemWarnings.js";
import { Team } from "./Team.js";
import { Segments } from "./Segments.js";
import { Campaigns } from "./Campaigns.js";

/** The store's state; re-renders at most once per task however many changes happen. */
function useStore() {
  const [state, setState] = useState(getState());
  useEffect(() => {
    let scheduled = false;
    const unsubscribe = subscribe(() => {
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        setState(getState());
      });
    });
    setState(getState());
    return unsubscribe;
  }, []);
  return state;
}

// Sections that take the whole page (the inbox has its own three columns).
const PAGES = { live: LiveVisitors, webhooks: Webhooks, devmail: DevMail, dashboard: Dashboard, team: Team, segments: Segments, campaigns: Campaigns };

export function App() {
  const state = useStore();
  const pending = Object.keys(state.pending).length;
  useEffect(() => {
    document.title = `${pending ? `(${pending}) ` : ""}Rapport console`;
  }, [pending]);

  if (state.boot === "loading") return html`<div class="splash" role="status">Loading the console…</div>`;
  if (state.boot === "login") return html`<${Login} notice=${state.loginNotice} />`;
  if (state.boot === "password") return html`<${ChangePassword} me=${state.me} />`;

  const Page = PAGES[state.section];
  if (Page) {
    return html`
      <div class="app app-dashboard">
        <a class="skip-link" href="#main">Skip to the content</a>
        <${TopBar} state=${state} />
        <${SystemWarnings} state=${state} />
        <${Page} state=${state} />
        <${Toasts} toasts=${state.toasts} />
      </div>
    `;
  }

  const selected = state.selectedId !== null ? state.conversations[state.selectedId] || { id: state.selectedId, loading: true } : null;
  const c = counts(state);
  return html`
    <div class=${`app pane-${state.pane}${selected ? " has-selection" : ""}`}>
      <a class="skip-link" href="#composer-input">Skip to the message box</a>
      <${TopBar} state=${state} />
      <${SystemWarnings} state=${state} />
      <${Banners} state=${state} />
      <div class="columns">
        <${Sidebar} state=${state} counts=${c} />
        <main class="main" id="main">
          ${selected ? html`<${Conversation} state=${state} conversation=${selected} />` : html`<${EmptyConversation} state=${state} />`}
        </main>
        <aside class="side" aria-label="Visitor details">
          ${selected ? html`<${VisitorPanel} state=${state} conversation=${selected} />` : null}
        </aside>
      </div>
      <${Dialogs} state=${state} />
      <${Toasts} toasts=${state.toasts} />
    </div>
  `;
}
