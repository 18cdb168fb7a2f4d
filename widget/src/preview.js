/**
 * Preview mode (the console's campaign editor, `/campaigns/preview`): the
 * real widget UI showing a campaign's opener as a visitor would see it, with
 * no connection to the server — nothing is stored, no visitor is created.
 * The opener comes from `<script type="application/json" id="rapport-preview">`
 * on the page (the server escapes it).
 */

import { Transcript } from "./transcript.js";
import { WidgetUI } from "./ui.js";

/** The opener described by the page: {text, quick_replies: [..], buttons: [..]} or null. */
export function readPreview(doc) {
  const node = doc.getElementById("rapport-preview");
  if (!node) return null;
  try {
    const data = JSON.parse(node.textContent || "{}");
    return data && typeof data === "object" ? data : null;
  } catch (_) {
    return null;
  }
}

const titles = (list) => (Array.isArray(list) ? list : []).filter((t) => typeof t === "string" && t).map((t) => ({ title: t, payload: t }));

export function bootPreview(config, opener) {
  const ui = new WidgetUI(config, { onSend: () => {}, onInput: () => {}, onToggle: () => {} });
  ui.mount();
  ui.setStatus("online");
  const transcript = new Transcript(ui.log, { origin: config.origin, onReply: () => {}, onCardClick: () => {} });
  const text = opener && (opener.text || opener.question);
  if (text) {
    transcript.addBot({ text, quick_replies: titles(opener.quick_replies), buttons: titles(opener.buttons) });
    if (opener.products) ui.note("(Recommended products from the visitor's interests appear here.)");
    ui.botMessageArrived();
  }
  ui.open();
  // A preview never takes the keyboard away from the console that frames it.
  ui.input.blur();
  window.Rapport = { preview: true, trigger: () => {}, track: () => {}, logout: () => {} };
}
