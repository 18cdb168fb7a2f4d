/**
 * Rapport chat widget — embed with one tag:
 *   <script src="https://HOST/widget.js" async data-title="..." data-color="#2f6f4e"
 *           data-greeting="..." data-server="https://HOST"></script>
 */

import { findScript, readConfig } from "./config.js";
import { Connection } from "./connection.js";
import { Transcript } from "./transcript.js";
import { WidgetUI } from "./ui.js";

// Only valid while this top-level code runs (async scripts included).
const currentScript = document.currentScript;

function boot() {
  if (window.Rapport || document.getElementById("rapport-widget")) return; // loaded twice
  const config = readConfig(findScript(currentScript));
  let connection;

  const ui = new WidgetUI(config, {
    onSend: (text) => send(text, text),
  });
  ui.mount();

  const transcript = new Transcript(ui.log, {
    origin: config.origin,
    onReply: (title, payload) => send(title, payload),
    onCardClick: (productId) => connection.cardClicked(productId),
  });

  /** Show `shown` as the visitor's bubble and send `message` to the server. */
  function send(shown, message) {
    const entry = transcript.addVisitor(shown, message, !connection.ready);
    emit(entry);
    ui.showTyping();
  }

  function emit(entry) {
    connection.sendMessage(entry.message, (generation) => {
      entry.generation = generation;
    });
  }

  connection = new Connection(config.origin, {
    onStatus: (state) => {
      ui.setStatus(state);
      if (state === "online") transcript.markSent();
    },
    onBotMessage: (payload) => {
      ui.hideTyping();
      if (transcript.addBot(payload)) ui.botMessageArrived();
    },
    onNewSession: () => transcript.forgetIds(),
    onHistory: (messages) => {
      transcript.addHistory(messages);
      transcript.resendLost(connection.generation, emit);
    },
    onError: (error) => {
      ui.hideTyping();
      const message = typeof error.message === "string" && error.message ? error.message : "Something went wrong.";
      ui.note(message, "error");
    },
  });
  connection.start();

  window.Rapport = Object.freeze({
    open: () => ui.open(),
    close: () => ui.close(),
  });
}

if (document.body) boot();
else document.addEventListener("DOMContentLoaded", boot, { once: true });
