/**
 * Rapport chat widget — embed with one tag:
 *   <script src="https://HOST/widget.js" async data-title="..." data-color="#2f6f4e"
 *           data-greeting="..." data-server="https://HOST"
 *           data-user-id="..." data-user-hash="..."></script>
 * (identity: see config.js and widget/README.md; sign-out: Rapport.logout())
 */

import { Campaigns } from "./campaigns.js";
import { findScript, readConfig } from "./config.js";
import { Connection } from "./connection.js";
import { CsatCard } from "./csat.js";
import { Handoff } from "./handoff.js";
import { STATE_BOT } from "./protocol.gen.js";
import { displayName } from "./render.js";
import { Teaser } from "./teaser.js";
import { SiteTracker } from "./tracking.js";
import { Transcript } from "./transcript.js";
import { TypingReporter } from "./typing.js";
import { WidgetUI } from "./ui.js";
import { bootPreview, readPreview } from "./preview.js";

// Only valid while this top-level code runs (async scripts included).
const currentScript = document.currentScript;

function boot() {
  if (window.Rapport || document.getElementById("rapport-widget")) return; // loaded twice
  const config = readConfig(findScript(currentScript));
  // The console's campaign preview: the UI only, no connection (preview.js).
  const opener = readPreview(document);
  if (opener) {
    bootPreview(config, opener);
    return;
  }
  let connection;
  let tracker;
  let campaigns;
  const typing = new TypingReporter((isTyping) => connection.visitorTyping(isTyping));
  const ratings = new Map(); // conversation id -> CsatCard

  const ui = new WidgetUI(config, {
    onSend: (text) => send(text, text),
    onInput: (value) => typing.input(value),
    onToggle: (opened) => {
      if (tracker) tracker.toggled(opened);
      if (campaigns) campaigns.toggled(opened);
    },
  });
  ui.mount();
  const handoff = new Handoff(ui);
  const teaser = new Teaser(ui, {
    onOpen: () => ui.open(),
    onReply: (title, payload) => {
      ui.open();
      // The opener is in the log as well: answer through its own buttons, so they are spent there too.
      const button = [...ui.log.querySelectorAll(".replies:not(.used) button.reply")].find((b) => b.textContent === title);
      if (button) button.click();
      else send(title, payload);
    },
    onDismiss: (campaignId) => campaigns.dismissed(campaignId),
    onNps: (campaignId, score) => connection.npsSubmitted(campaignId, score),
  });

  const transcript = new Transcript(ui.log, {
    origin: config.origin,
    onReply: (title, payload) => send(title, payload),
    onCardClick: (productId) => connection.cardClicked(productId),
  });

  /** Show `shown` as the visitor's bubble and send `message` to the server. */
  function send(shown, message) {
    typing.stop();
    const entry = transcript.addVisitor(shown, message);
    entry.clientId = connection.sendMessage(message, delivery(entry));
    // While a person has (or is about to take) the chat, the bot stays silent.
    if (!handoff.active) ui.showTyping();
  }

  /** What the connection tells a bubble about its message's delivery. */
  function delivery(entry) {
    return {
      onSent: (generation) => transcript.sent(entry, generation),
      onAck: (ack) => transcript.acked(entry, ack.message_id),
      onRefused: () => {
        ui.hideTyping();
        transcript.refused(entry);
      },
    };
  }

  function requestRating(conversationId) {
    if (ratings.has(conversationId)) return;
    const card = new CsatCard(
      conversationId,
      (score, comment) => connection.submitCsat(conversationId, score, comment),
      () => ui.input.focus()
    );
    ratings.set(conversationId, card);
    ui.append(card.node);
  }

  connection = new Connection(config.origin, config.identity, {
    onStatus: (state) => ui.setStatus(state),
    onConfirm: ({ emailTranscript } = {}) => {
      handoff.resumed();
      tracker.confirmed();
      ui.emailButton.hidden = !emailTranscript;
    },
    onBotMessage: (payload) => {
      ui.hideTyping();
      if (transcript.addBot(payload)) {
        ui.botMessageArrived();
        campaigns.botMessage(payload);
      }
    },
    onCampaignWatch: (data) => campaigns.watch(data),
    onCampaignShown: (data) => campaigns.shown(data),
    onHandoffStatus: (status) => handoff.update(status),
    onAgentTyping: ({ typing: isTyping, name }) => {
      if (isTyping) ui.showTyping(displayName(name) || handoff.agentName || "Someone");
      else ui.hideTyping();
    },
    onCsatRequest: ({ conversation_id: id }) => requestRating(id),
    onCsatRecorded: ({ conversation_id: id }) => {
      const card = ratings.get(id);
      if (card) card.recorded();
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
    },
    // Not worth alarming anyone: the chat works, just not as that customer.
    onIdentityRejected: () => ui.note("We couldn't confirm your account, so this chat is anonymous."),
    onError: (error) => {
      ui.hideTyping();
      for (const card of ratings.values()) card.failed();
      const message = typeof error.message === "string" && error.message ? error.message : "Something went wrong.";
      ui.note(message, "error");
    },
  });
  // Messages a previous page typed but never got acknowledged: shown, sent again.
  connection.restore((pending) => {
    const entry = transcript.addVisitor(pending.message, pending.message);
    entry.clientId = pending.clientId;
    return delivery(entry);
  });
  ui.emailButton.addEventListener("click", () => {
    ui.emailButton.disabled = true;
    connection.emailTranscript((text, isError) => {
      ui.emailButton.disabled = false;
      ui.note(text, isError ? "error" : undefined);
    });
  });
  tracker = new SiteTracker(connection, () => campaigns.pageChanged());
  campaigns = new Campaigns({ connection, ui, teaser, activeMs: () => tracker.activeMs() });
  tracker.watch();
  connection.start();

  window.Rapport = Object.freeze({
    open: () => ui.open(),
    close: () => ui.close(),
    /** Report a conversion goal: Rapport.track("purchase", {value, currency, order_id, signature?}). */
    track: (name, properties) => tracker.track(name, properties),
    /**
     * Something happened on the page that a campaign may wait for:
     * Rapport.trigger("added_to_cart", {sku: "TENT-2"}). Returns false when
     * refused (bad name or data) or the same name was sent less than a second ago.
     */
    trigger: (name, data) => campaigns.trigger(name, data),
    /** Report a page view after a single-page app changed the page without a reload. */
    pageView: () => tracker.pageView(),
    /**
     * The customer signed out: show and keep nothing of them, and carry on as
     * a fresh anonymous visitor (also what happens when a page load stops
     * sending the identity).
     */
    logout: () => logout(),
    /** This browser's anonymous visitor id (null while signed in), for merge_anonymous. */
    visitorId: () => connection.anonymousId,
  });

  function logout() {
    typing.stop();
    ui.hideTyping();
    teaser.hide();
    campaigns.pageChanged();
    handoff.update({ state: STATE_BOT, quiet: true });
    ratings.clear();
    transcript.clear();
    tracker.restart();
    connection.logout();
  }
}

if (document.body) boot();
else document.addEventListener("DOMContentLoaded", boot, { once: true });
