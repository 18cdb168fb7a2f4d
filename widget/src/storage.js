/**
 * localStorage with an in-memory fallback: storage can throw (Safari private
 * mode, sandboxed iframes, blocked cookies) and the widget must still work.
 */

const memory = new Map();

export const SESSION_KEY = "rapport.session_id";
// The customer (user_id) the stored session was confirmed for; "" when anonymous.
export const SESSION_USER_KEY = "rapport.session_user";
// Visitor messages not acknowledged yet (outbox.js).
export const OUTBOX_KEY = "rapport.outbox";
// Campaigns whose teaser this person dismissed: {campaign id: ms since epoch} (campaigns.js).
export const DISMISSED_KEY = "rapport.campaigns_dismissed";
// Everything the widget keeps about the person using it. Dropped when that
// person changes (sign-out, another customer, an anonymous visitor signing in):
// the next person at this browser must see nothing of the previous one.
export const PERSON_KEYS = [SESSION_KEY, SESSION_USER_KEY, OUTBOX_KEY, DISMISSED_KEY];

export function getItem(key) {
  try {
    const value = window.localStorage.getItem(key);
    if (value !== null) return value;
  } catch (_) {
    /* storage unavailable */
  }
  return memory.has(key) ? memory.get(key) : null;
}

export function setItem(key, value) {
  memory.set(key, value);
  try {
    window.localStorage.setItem(key, value);
  } catch (_) {
    /* storage unavailable: memory copy lasts for this page */
  }
}

export function removeItem(key) {
  memory.delete(key);
  try {
    window.localStorage.removeItem(key);
  } catch (_) {
    /* storage unavailable */
  }
}

/** Forget everything kept about the person using this browser (PERSON_KEYS). */
export function forgetPerson() {
  for (const key of PERSON_KEYS) removeItem(key);
}
