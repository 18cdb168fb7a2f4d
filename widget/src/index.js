/**
 * Rapport chat widget — embed with one tag:
 *   <script src="https://HOST/widget.js" async data-title="..." data-color="#2f6f4e"
 *           data-greeting="..." data-server="https://HOST"
 *           data-user-id="..." data-user-hash="..."></script>
 * (identity: see config.js and widget/README.md)
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
    connection.sendMessage(entry.message, (generation) => transcript.sent(entry, generation));
  }

  connection = new Connection(config.origin, config.identity, {
    onStatus: (state) => ui.setStatus(state),
    onBotMessage: (payload) => {
      ui.hideTyping();
      if (transcript.addBot(payload)) ui.botMessageArrived();
    },
    onNewSession: () => transcript.forgetIds(),
    onHistory: (messages, reset) => {
      // Sent right after the session_confirm that started the new session.
      if (reset) {
        transcript.reset(connection.generation);
        ui.hideTyping();
        ui.note("This conversation was cleared.");
      }
      transcript.addHistory(messages);
      transcript.resendLost(connection.generation, emit);
    },
    // Not worth alarming anyone: the chat works, just not as that customer.
    onIdentityRejected: () => ui.note("We couldn't confirm your account, so this chat is anonymous."),
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
