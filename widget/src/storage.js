/**
 * localStorage with an in-memory fallback: storage can throw (Safari private
 * mode, sandboxed iframes, blocked cookies) and the widget must still work.
 */

const memory = new Map();

export const SESSION_KEY = "rapport.session_id";
// The customer (user_id) the stored session was confirmed for; "" when anonymous.
export const SESSION_USER_KEY = "rapport.session_user";

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
