/**
 * Preview mode (the console's campaign editor, `/campaigns/preview`): the
 * real widget UI showing a campaign's opener as a visitor would see it (the
 * teaser by the launcher; opening it shows the chat with the opener), with
 * no connection to the server — nothing is stored, no visitor is created.
 * The opener comes from `<script type="application/json" id="rapport-preview">`
 * on the page (the server escapes it).
 */

import { Teaser } from "./teaser.js";
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
  const message = text
    ? { text, quick_replies: titles(opener.quick_replies), buttons: titles(opener.buttons) }
    : null;
  const agent = opener && opener.kind === "agent" && typeof opener.agent_name === "string" ? opener.agent_name : "";
  if (message) {
    transcript.addBot(message);
    if (opener.products) ui.note("(Recommended products from the visitor's interests appear here.)");
  }
  // First what the visitor sees on the page: the teaser by the launcher.
  // Opening it (or a suggested reply) shows the chat with the opener in it.
  const showChat = () => {
    teaser.hide();
    ui.open();
    ui.input.blur(); // a preview never takes the keyboard away from the console
  };
  const teaser = new Teaser(ui, { onOpen: showChat, onReply: showChat, onDismiss: () => {}, onNps: () => {} });
  if (message && opener.kind === "nps") teaser.showNps(0, { text });
  else if (message) teaser.showOpener(0, agent ? { ...message, sender: { type: "agent", name: agent } } : message);
  window.Rapport = { preview: true, trigger: () => {}, track: () => {}, logout: () => {} };
}
