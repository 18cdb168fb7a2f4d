/**
 * A campaign's teaser by the launcher (`campaign_shown` while the chat is
 * closed; docs/protocol.md "Proactive campaigns").
 *
 * Non-modal and dismissible: it never takes focus; it is announced once
 * through a polite live region that exists from the start (a region created
 * together with its text is not reliably read); it is reachable with Tab (the
 * message is a button that opens the chat, then its quick replies, then ×);
 * Escape inside it dismisses it, as × does. Its entrance animation is off
 * under prefers-reduced-motion (styles.js).
 *
 * Kind bot/agent: the opener's text (clamped to a few lines; the chat shows it
 * whole) with its quick replies/buttons. The same messages arrive as ordinary
 * `bot_uttered` and are drawn in the chat log; the teaser only points at
 * them, so nothing is shown twice.
 * Kind nps: the question with a 0–10 scale; a choice is sent at once and the
 * teaser thanks the visitor.
 */

import { displayName, h } from "./render.js";
import { safeUrl } from "./urls.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const CLOSE_PATH = "M6 6l12 12M18 6L6 18";
const NPS_QUESTION = "How likely are you to recommend us to a friend or colleague?";
const THANKS_MS = 8000; // the thanks stays this long unless focus is in it

function closeIcon() {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", CLOSE_PATH);
  svg.appendChild(path);
  return svg;
}

/** The spoken label of a score button. */
export function npsLabel(score) {
  if (score === 0) return "0, not at all likely";
  if (score === 10) return "10, extremely likely";
  return String(score);
}

export class Teaser {
  /**
   * @param {import("./ui.js").WidgetUI} ui
   * @param {object} handlers onOpen(), onReply(title, payload), onDismiss(campaignId),
   *   onNps(campaignId, score)
   */
  constructor(ui, handlers) {
    this.ui = ui;
    this.handlers = handlers;
    this.node = null;
    this.campaignId = null;
    this.thanksTimer = null;
    this.npsMessage = null;
    this.serial = 0;
    // Present (empty) from the start so that what is written to it is read out.
    this.announcer = h("div", { className: "sr-only teaser-announcer", "aria-live": "polite", "aria-atomic": "true" });
    ui.root.appendChild(this.announcer);
  }

  get visible() {
    return !!this.node;
  }

  /** Read `text` out politely, once. */
  announce(text) {
    this.announcer.textContent = "";
    // A change after the clear, so that the same text twice is read twice.
    const serial = ++this.serial;
    setTimeout(() => {
      if (serial === this.serial) this.announcer.textContent = text;
    }, 50);
  }

  /** A teaser frame: `children` plus the × button; Escape inside dismisses. */
  frame(campaignId, className, label, children) {
    this.hide();
    const close = h("button", { type: "button", className: "teaser-close", "aria-label": "Dismiss" }, [closeIcon()]);
    close.addEventListener("click", () => this.dismiss());
    const node = h("div", { className: `teaser ${className}`, role: "group", "aria-label": label, "data-campaign": String(campaignId) }, [
      ...children,
      close,
    ]);
    node.addEventListener("keydown", (event) => {
      if (event.key === "Escape" || event.key === "Esc") {
        event.preventDefault();
        event.stopPropagation();
        this.dismiss();
      }
    });
    this.node = node;
    this.campaignId = campaignId;
    this.ui.root.insertBefore(node, this.ui.launcher);
    return node;
  }

  /** A bot or agent opener: `message` = {text, quick_replies?, buttons?, sender?}. */
  showOpener(campaignId, message) {
    const text = typeof message.text === "string" ? message.text.trim() : "";
    const sender = message.sender && typeof message.sender === "object" ? message.sender : null;
    const from = (sender && sender.type === "agent" && displayName(sender.name)) || this.ui.config.title;
    const open = h("button", { type: "button", className: "teaser-body" }, [
      h("span", { className: "teaser-from", text: from }),
      h("span", { className: "sr-only", text: ": " }),
      h("span", { className: "teaser-text", text }),
      h("span", { className: "sr-only", text: " (opens the chat)" }),
    ]);
    open.addEventListener("click", () => this.handlers.onOpen());
    const replies = this.replies(message);
    this.frame(campaignId, "teaser-opener", `Message from ${from}`, [open, replies]);
    this.announce(`New message from ${from}: ${text}`);
  }

  /** The opener's quick replies and buttons (links open in a new tab). */
  replies(message) {
    const items = [].concat(
      Array.isArray(message.quick_replies) ? message.quick_replies : [],
      Array.isArray(message.buttons) ? message.buttons : []
    );
    const group = h("div", { className: "replies teaser-replies", role: "group", "aria-label": "Suggested replies" });
    for (const item of items.slice(0, 4)) {
      if (!item || typeof item !== "object" || typeof item.title !== "string" || !item.title) continue;
      const url = item.type === "web_url" ? safeUrl(item.url, this.ui.config.origin) : null;
      if (url) {
        group.appendChild(h("a", { className: "reply", href: url, target: "_blank", rel: "noopener noreferrer", text: item.title }));
        continue;
      }
      const payload = typeof item.payload === "string" && item.payload ? item.payload : item.title;
      const button = h("button", { type: "button", className: "reply", text: item.title });
      button.addEventListener("click", () => this.handlers.onReply(item.title, payload));
      group.appendChild(button);
    }
    return group.childNodes.length ? group : null;
  }

  /** An NPS survey: the question and the 0–10 scale. */
  showNps(campaignId, message) {
    const question = message && typeof message.text === "string" && message.text.trim() ? message.text.trim() : NPS_QUESTION;
    const qid = `rapport-nps-q-${campaignId}`;
    const hintId = `rapport-nps-hint-${campaignId}`;
    const buttons = [];
    for (let score = 0; score <= 10; score += 1) {
      const button = h("button", { type: "button", className: "nps-score", text: String(score), "aria-label": npsLabel(score) });
      button.addEventListener("click", () => this.submitNps(campaignId, score));
      buttons.push(button);
    }
    this.npsMessage = message;
    this.frame(campaignId, "teaser-nps", "Survey", [
      h("p", { className: "nps-question", id: qid, text: question }),
      h("div", { className: "nps-scale", role: "group", "aria-labelledby": qid, "aria-describedby": hintId }, buttons),
      h("p", { className: "nps-hint", id: hintId }, [
        h("span", { text: "0 = not at all likely" }),
        h("span", { text: "10 = extremely likely" }),
      ]),
    ]);
    this.announce(`Survey: ${question} Answer from 0, not at all likely, to 10, extremely likely.`);
  }

  submitNps(campaignId, score) {
    if (!this.node || this.campaignId !== campaignId || this.node.classList.contains("nps-done")) return;
    const hadFocus = this.node.contains(this.ui.shadow.activeElement);
    this.handlers.onNps(campaignId, score);
    const node = this.node;
    node.classList.add("nps-done");
    for (const child of [...node.children]) {
      if (!child.classList.contains("teaser-close")) child.remove();
    }
    node.setAttribute("aria-label", "Survey");
    node.insertBefore(h("p", { className: "nps-thanks", text: "Thank you for your answer!" }), node.firstChild);
    // The score buttons are gone: keep keyboard focus inside (on ×).
    if (hadFocus) node.querySelector(".teaser-close").focus();
    this.announce("Thank you for your answer!");
    clearTimeout(this.thanksTimer);
    this.thanksTimer = setTimeout(() => {
      if (this.node === node && !node.contains(this.ui.shadow.activeElement)) this.hide();
    }, THANKS_MS);
  }

  /** × or Escape: gone for good for this campaign (the caller tells the server). */
  dismiss() {
    if (!this.node) return;
    const campaignId = this.campaignId;
    const answered = this.node.classList.contains("nps-done");
    const hadFocus = this.node.contains(this.ui.shadow.activeElement);
    this.hide();
    if (hadFocus) this.ui.launcher.focus();
    // Closing the thanks of an answered survey is not a dismissal.
    if (!answered) this.handlers.onDismiss(campaignId);
  }

  /** Remove it without dismissing (the chat opened, or another teaser replaces it). */
  hide() {
    clearTimeout(this.thanksTimer);
    if (this.node) this.node.remove();
    this.node = null;
    this.campaignId = null;
  }
}
