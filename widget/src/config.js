/**
 * Reads the embed configuration from the widget's own <script> tag.
 *
 * The widget is loaded with `async`, so `document.currentScript` is only
 * reliable while the bundle's top-level code runs; index.js captures it then
 * and passes it here. The server origin is the script's own origin unless
 * `data-server` overrides it.
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
  };
}
