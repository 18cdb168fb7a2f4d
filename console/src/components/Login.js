/** Sign-in form and the forced password change of a first login. */

import { useState, useRef, useEffect } from "preact/hooks";
import { html } from "../html.js";
import { login, changePassword, logout } from "../actions/index.js";

function Brand() {
  return html`<div class="auth-brand"><span class="logo" aria-hidden="true">R</span><span>Rapport</span></div>`;
}

export function Login({ notice }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const first = useRef(null);
  useEffect(() => first.current && first.current.focus(), []);

  async function submit(event) {
    event.preventDefault();
    if (busy) return;
    if (!username.trim() || !password) {
      setError("Enter your username and password.");
      return;
    }
    setBusy(true);
    setError("");
    const message = await login(username.trim(), password);
    setBusy(false);
    if (message) {
      setError(message);
      setPassword("");
    }
  }

  return html`
    <main class="auth">
      <form class="auth-card" onSubmit=${submit} aria-labelledby="login-title" novalidate>
        <${Brand} />
        <h1 id="login-title">Sign in to the agent console</h1>
        ${notice ? html`<p class="auth-notice" role="status">${notice}</p>` : null}
        <label for="login-username">Username</label>
        <input id="login-username" ref=${first} name="username" autocomplete="username" required
          value=${username} onInput=${(e) => setUsername(e.currentTarget.value)} />
        <label for="login-password">Password</label>
        <input id="login-password" name="password" type="password" autocomplete="current-password" required
          value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
        <p class="form-error" role="alert">${error}</p>
        <button class="btn primary wide" type="submit" disabled=${busy}>
          ${busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  `;
}

export function ChangePassword({ me }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    if (next.length < 10) return setError("The new password needs at least 10 characters.");
    if (next !== again) return setError("The two new passwords differ.");
    if (next === current) return setError("Choose a password different from the current one.");
    setBusy(true);
    setError("");
    const message = await changePassword(current, next);
    setBusy(false);
    if (message) setError(message);
  }

  return html`
    <main class="auth">
      <form class="auth-card" onSubmit=${submit} aria-labelledby="pw-title" novalidate>
        <${Brand} />
        <h1 id="pw-title">Choose a new password</h1>
        <p class="auth-notice">
          ${me ? `Hello ${me.display_name}. ` : ""}This password was set for you and must be changed before you start.
        </p>
        <label for="pw-current">Current password</label>
        <input id="pw-current" type="password" autocomplete="current-password" value=${current}
          onInput=${(e) => setCurrent(e.currentTarget.value)} />
        <label for="pw-new">New password <span class="hint">(at least 10 characters)</span></label>
        <input id="pw-new" type="password" autocomplete="new-password" minlength="10" value=${next}
          onInput=${(e) => setNext(e.currentTarget.value)} />
        <label for="pw-again">New password again</label>
        <input id="pw-again" type="password" autocomplete="new-password" value=${again}
          onInput=${(e) => setAgain(e.currentTarget.value)} />
        <p class="form-error" role="alert">${error}</p>
        <button class="btn primary wide" type="submit" disabled=${busy}>
          ${busy ? "Saving…" : "Change password"}
        </button>
        <button class="btn link wide" type="button" onClick=${logout}>Sign out</button>
      </form>
    </main>
  `;
}
