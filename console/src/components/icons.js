/** Inline SVG icons (decorative: the buttons carry the text labels). */

import { html } from "../html.js";

const PATHS = {
  back: "M15 18l-6-6 6-6",
  settings: "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm7.4-3a7.4 7.4 0 0 0-.1-1.2l2-1.6-2-3.4-2.4 1a7.3 7.3 0 0 0-2-1.2L14.5 3h-5l-.4 2.6a7.3 7.3 0 0 0-2 1.2l-2.4-1-2 3.4 2 1.6a7.4 7.4 0 0 0 0 2.4l-2 1.6 2 3.4 2.4-1a7.3 7.3 0 0 0 2 1.2l.4 2.6h5l.4-2.6a7.3 7.3 0 0 0 2-1.2l2.4 1 2-3.4-2-1.6c.1-.4.1-.8.1-1.2z",
  logout: "M15 17l5-5-5-5M20 12H9M12 20H5a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1h7",
  send: "M4 12l16-8-6 16-2.5-6.5L4 12z",
  user: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-8 9a8 8 0 0 1 16 0",
  note: "M5 4h10l4 4v12H5zM14 4v5h5M8 13h8M8 17h5",
  bolt: "M13 2L4 14h7l-1 8 9-12h-7z",
  check: "M5 12.5l4.5 4.5L19 7",
  close: "M6 6l12 12M18 6L6 18",
  transfer: "M4 8h13l-4-4M20 16H7l4 4",
  bot: "M12 3v3M7 8h10a3 3 0 0 1 3 3v5a3 3 0 0 1-3 3H7a3 3 0 0 1-3-3v-5a3 3 0 0 1 3-3zM9 13h.01M15 13h.01",
  bell: "M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 21h4",
  trash: "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13",
  join: "M12 5v14M5 12h14",
};

export function Icon({ name, size }) {
  const s = size || 18;
  return html`<svg class="icon" width=${s} height=${s} viewBox="0 0 24 24" aria-hidden="true" focusable="false"
    fill="none" stroke="currentColor" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round">
    <path d=${PATHS[name] || ""} />
  </svg>`;
}
