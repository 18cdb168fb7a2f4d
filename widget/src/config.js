/**
 * Reads the embed configuration from the widget's own <script> tag.
 *
 * The widget is loaded with `async`, so `document.currentScript` is only
 * reliable while the bundle's top-level code runs; index.js captures it then
 * and passes it here. The server origin is the script's own origin unless
 * `data-server` overrides it.
 *
 * A logged-in customer is described by `data-user-id`, `data-user-hash`,
 * `data-user-name`, `data-user-email` or by `window.RapportIdentity`
 * (`{user_id, user_hash, name, email}`), which wins when it names a user. The
 * two sources are never mixed field by field: a hash only vouches for the user
 * id it came with. `merge_anonymous` (global or `data-merge-anonymous`) is
 * only honoured when the site's backend signed it into the hash (README,
 * "Logged-in customers").
 */

const DEFAULT_TITLE = "Chat with us";
const DEFAULT_COLOR = "#2f6f4e";

/** The <script> element that loaded the widget (best effort). */
export function findScript(current) {
  if (current && current.src) return current;
  return (
    document.querySelector('script[src$="widget.js"]') ||
    document.querySelector('script[src*="widget.js"]') ||
    null
  );
}

function httpOrigin(value, base) {
  try {
    const url = new URL(value, base);
    if (url.protocol === "http:" || url.protocol === "https:") return url.origin;
  } catch (_) {
    /* fall through */
  }
  return null;
}

function claimField(value, max) {
  if (typeof value === "number" && Number.isFinite(value)) value = String(value);
  if (typeof value !== "string") return undefined;
  value = value.trim();
  return value && value.length <= max ? value : undefined;
}

/** `{user_id, user_hash?, name?, email?}` from one source, or null without a user id. */
function identityFrom(source) {
  if (!source || typeof source !== "object") return null;
  const userId = claimField(source.user_id, 200);
  if (!userId) return null;
  const identity = { user_id: userId };
  const fields = { user_hash: 128, name: 200, email: 320, merge_anonymous: 200 };
  for (const key of Object.keys(fields)) {
    const value = claimField(source[key], fields[key]);
    if (value) identity[key] = value;
  }
  // The site vouches for the email (its backend signs it into user_hash).
  if (identity.email && (source.email_verified === true || source.email_verified === "true")) {
    identity.email_verified = true;
  }
  return identity;
}

/** The identity claim to present in `session_request`, or null (anonymous). */
export function readIdentity(data) {
  let global = null;
  try {
    global = window.RapportIdentity;
  } catch (_) {
    /* a throwing getter on the host page: ignore it */
  }
  return (
    identityFrom(global) ||
    identityFrom({
      user_id: data.userId,
      user_hash: data.userHash,
      name: data.userName,
      email: data.userEmail,
      merge_anonymous: data.mergeAnonymous,
      email_verified: data.userEmailVerified,
    })
  );
}

export function readConfig(script) {
  const data = (script && script.dataset) || {};
  const scriptOrigin = script && script.src ? httpOrigin(script.src, location.href) : null;
  const origin =
    (data.server && httpOrigin(data.server, location.href)) || scriptOrigin || location.origin;
  return {
    origin,
    title: (data.title || DEFAULT_TITLE).slice(0, 80),
    color: data.color || DEFAULT_COLOR,
    greeting: data.greeting ? data.greeting.slice(0, 500) : "",
    identity: readIdentity(data),
  };
}
