/**
 * URL handling for anything that comes from a message payload.
 *
 * Payload URLs are resolved against the chat server's origin (relative paths
 * such as "/static/products/tents.svg" live there, not on the host page) and
 * only http(s) results are used, so `javascript:`/`data:` URLs never reach an
 * href or src.
 */

export function safeUrl(value, origin) {
  if (typeof value !== "string" || !value.trim()) return null;
  try {
    const url = new URL(value.trim(), origin);
    if (url.protocol === "http:" || url.protocol === "https:") return url.href;
  } catch (_) {
    /* invalid URL */
  }
  return null;
}
