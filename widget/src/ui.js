/**
 * The widget shell: launcher, dialog panel (header with the agent's name
 * during a handoff, handoff strip, status line, log, typing indicator,
 * composer), all inside a shadow root so host-page CSS cannot reach them.
 */

import { h, systemNote } from "./render.js";
import { CSS } from "./styles.js";
import { MAX_MESSAGE_CHARS } from "./connection.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const TYPING_TIMEOUT_MS = 15000;
// Must match the full-screen @media rule in styles.js: there the panel covers
// the page, so it is a modal dialog and keeps keyboard focus inside.
const FULL_SCREEN_QUERY = "(max-width: 600px)";
const FOCUSABLE = "button, a[href], input, select, textarea, [tabindex]:not([tabindex='-1'])";

function icon(pathD, viewBox) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", viewBox || "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", pathD);
  svg.appendChild(path);
  return svg;
}

const CHAT_ICON = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z";
const CLOSE_ICON = "M6 6l12 12M18 6L6 18";
const MAIL_ICON = "M3 6h18v12H3zM3 7l9 6 9-6";
const SEND_ICON = "M3.4 20.4l17.45-7.48a1 1 0 0 0 0-1.84L3.4 3.6a.99.99 0 0 0-1.39.91L2 9.12c0 .5.37.93.87.99L17 12 2.87 13.88c-.5.07-.87.5-.87 1l.01 4.61c0 .71.73 1.2 1.39.91z";

/** Pick black or white text for the accent colour (WCAG relative luminance). */
function readableOn(rgb) {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(rgb || "");
  if (!m) return "#ffffff";
  const lin = (c) => {
    const v = Number(c) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const lum = 0.2126 * lin(m[1]) + 0.7152 * lin(m[2]) + 0.0722 * lin(m[3]);
  return lum > 0.4 ? "#1f2328" : "#ffffff";
}

export class WidgetUI {
  constructor(config, handlers) {
    this.config = config;
    this.handlers = handlers; // onSend(text), onInput(value), onToggle(opened)
    this.isOpen = false;
    this.unread = 0;
    this.typingTimer = null;
    this.everOnline = false;
  }

  mount() {
    const host = document.createElement("div");
    host.id = "rapport-widget";
    // Inline !important beats host-page rules aimed at the host element itself
    // (e.g. `div { border: ... }`, transforms that would break position: fixed).
    host.style.cssText =
      "all: initial !important; position: fixed !important; top: 0 !important; left: 0 !important;" +
      " width: 0 !important; height: 0 !important; z-index: 2147483000 !important; display: block !important;";
    const shadow = host.attachShadow({ mode: "open" });
    this.host = host;
    this.shadow = shadow;

    const style = document.createElement("style");
    style.textContent = CSS;
    shadow.appendChild(style);

    const title = this.config.title;
    this.badge = h("span", { className: "badge", "aria-hidden": "true", hidden: true });
    this.launcher = h("button", {
      type: "button", className: "launcher", "aria-label": "Open chat",
      "aria-haspopup": "dialog", "aria-expanded": "false", "aria-controls": "rapport-panel",
    }, [icon(CHAT_ICON), this.badge]);

    this.closeButton = h("button", { type: "button", className: "close", "aria-label": "Close chat" });
    // Shown only when the server offers it (a verified or confirmed address).
    this.emailButton = h("button", {
      type: "button", className: "email-transcript", "aria-label": "Email me this conversation",
      title: "Email me this conversation", hidden: true,
    });
    this.emailButton.appendChild(icon(MAIL_ICON));
    const closeSvg = icon(CLOSE_ICON);
    this.closeButton.appendChild(closeSvg);

    this.status = h("div", { className: "status", role: "status", hidden: true });
    // Filled by handoff.js: "Connecting you to a person…" while queued. Not a
    // live region itself: the log announces the same text once.
    this.strip = h("div", { className: "handoff", hidden: true });
    this.avatar = h("span", { className: "avatar", "aria-hidden": "true", hidden: true });
    this.subtitle = h("p", { className: "subtitle", hidden: true });
    this.log = h("div", { className: "log", role: "log", "aria-live": "polite", "aria-label": "Messages", tabindex: "0" });
    this.typingLabel = h("span", { className: "sr-only", text: "The assistant is typing" });
    this.typing = h("div", { className: "typing", hidden: true }, [
      h("i", { className: "dot" }), h("i", { className: "dot" }), h("i", { className: "dot" }),
      this.typingLabel,
    ]);
    this.input = h("input", {
      id: "rapport-input", className: "input", type: "text", maxlength: String(MAX_MESSAGE_CHARS),
      autocomplete: "off", placeholder: "Type your message…", enterkeyhint: "send",
    });
    this.sendButton = h("button", { type: "submit", className: "send", "aria-label": "Send" }, [icon(SEND_ICON)]);
    this.form = h("form", { className: "composer" }, [
      h("label", { for: "rapport-input", className: "sr-only", text: "Type your message" }),
      this.input,
      this.sendButton,
    ]);

    this.panel = h("section", {
      id: "rapport-panel", className: "panel", role: "dialog", "aria-label": `${title} chat`, hidden: true,
    }, [
      h("header", { className: "header" }, [
        this.avatar,
        h("div", { className: "heading" }, [h("h2", { className: "title", text: title }), this.subtitle]),
        this.emailButton,
        this.closeButton,
      ]),
      this.strip,
      this.status,
      this.log,
      this.typing,
      this.form,
    ]);

    this.root = h("div", { className: "root" }, [this.launcher, this.panel]);
    shadow.appendChild(this.root);
    document.body.appendChild(host);
    this.applyColor(this.config.color);
    this.fullScreen = window.matchMedia ? window.matchMedia(FULL_SCREEN_QUERY) : null;
    this.bind();
    this.updateModal();
    if (this.config.greeting) {
      this.log.appendChild(h("div", { className: "msg msg-bot greeting" }, [h("p", { className: "bubble", text: this.config.greeting })]));
    }
  }

  applyColor(color) {
    if (!color || !(window.CSS && CSS_SUPPORTS(color))) return;
    this.root.style.setProperty("--accent", color);
    const probe = h("span");
    probe.style.color = color;
    this.root.appendChild(probe);
    const rgb = getComputedStyle(probe).color;
    probe.remove();
    const text = readableOn(rgb);
    this.root.style.setProperty("--accent-text", text);
    // A light accent is unreadable as text on white: use the body colour there.
    if (text !== "#ffffff") this.root.style.setProperty("--accent-ink", "var(--fg)");
  }

  bind() {
    this.launcher.addEventListener("click", () => this.open());
    this.closeButton.addEventListener("click", () => this.close());
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape" || event.key === "Esc") {
        event.preventDefault();
        event.stopPropagation();
        this.close();
      } else if (event.key === "Tab" && this.isModal()) {
        this.wrapFocus(event);
      }
    });
    // Focus that leaves a modal panel anyway (a click on plain text, the
    // browser's own tab order) is brought back.
    document.addEventListener("focusin", (event) => {
      if (this.isModal() && event.target !== this.host) this.input.focus();
    });
    if (this.fullScreen) {
      const update = () => this.updateModal();
      if (this.fullScreen.addEventListener) this.fullScreen.addEventListener("change", update);
      else if (this.fullScreen.addListener) this.fullScreen.addListener(update); // Safari < 14
    }
    this.input.addEventListener("input", () => {
      if (this.handlers.onInput) this.handlers.onInput(this.input.value);
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = "";
      this.handlers.onSend(text);
    });
  }

  /** Open and covering the viewport (phones): a modal dialog. */
  isModal() {
    return this.isOpen && !!this.fullScreen && this.fullScreen.matches;
  }

  updateModal() {
    if (this.isModal()) this.panel.setAttribute("aria-modal", "true");
    else this.panel.removeAttribute("aria-modal");
  }

  /** The panel's focusable controls in document order (= tab order: no positive tabindex), minus disabled and hidden ones. */
  focusables() {
    return [...this.panel.querySelectorAll(FOCUSABLE)].filter(
      (el) => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length > 0
    );
  }

  /** Tab past the last control goes to the first, Shift+Tab before the first to the last. */
  wrapFocus(event) {
    const items = this.focusables();
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    const active = this.shadow.activeElement;
    if (event.shiftKey ? active === first || !active : active === last || !active) {
      event.preventDefault();
      (event.shiftKey ? last : first).focus();
    }
  }

  open() {
    if (this.isOpen) return;
    this.isOpen = true;
    this.panel.hidden = false;
    this.launcher.hidden = true;
    this.launcher.setAttribute("aria-expanded", "true");
    this.updateModal();
    this.setUnread(0);
    this.log.scrollTop = this.log.scrollHeight;
    this.input.focus();
    if (this.handlers.onToggle) this.handlers.onToggle(true);
  }

  close() {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.panel.hidden = true;
    this.launcher.hidden = false;
    this.launcher.setAttribute("aria-expanded", "false");
    this.updateModal();
    this.launcher.focus();
    if (this.handlers.onToggle) this.handlers.onToggle(false);
  }

  setUnread(count) {
    this.unread = count;
    this.badge.hidden = count === 0;
    this.badge.textContent = count > 9 ? "9+" : String(count);
    // The badge's number must be a word of the name (WCAG 2.5.3; axe drops parentheses).
    this.launcher.setAttribute("aria-label", count ? `Open chat, ${this.badge.textContent} unread` : "Open chat");
  }

  botMessageArrived() {
    this.hideTyping();
    if (!this.isOpen) this.setUnread(this.unread + 1);
  }

  /** Dots for the assistant; with `name`, "Alex is typing…" for a person. */
  showTyping(name) {
    this.typingLabel.className = name ? "typing-label" : "sr-only";
    this.typingLabel.textContent = name ? `${name} is typing…` : "The assistant is typing";
    this.typing.hidden = false;
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.hideTyping(), TYPING_TIMEOUT_MS);
    this.log.scrollTop = this.log.scrollHeight;
  }

  hideTyping() {
    clearTimeout(this.typingTimer);
    this.typing.hidden = true;
  }

  setStatus(state) {
    if (state === "online") this.everOnline = true;
    const text = {
      connecting: "",
      reconnecting: this.everOnline ? "Reconnecting…" : "Connecting…",
      offline: "Offline. Messages will be sent when the connection is back.",
      online: "",
    }[state];
    this.status.textContent = text || "";
    this.status.hidden = !text;
  }

  /** The person the visitor is talking to, in the header (null: nobody). */
  setAgent(name) {
    this.subtitle.textContent = name ? `Chatting with ${name}` : "";
    this.subtitle.hidden = !name;
    this.avatar.textContent = name ? Array.from(name)[0].toUpperCase() : "";
    this.avatar.hidden = !name;
  }

  /** A line in the log (announced politely by it); returns the node. */
  note(text, kind) {
    const node = systemNote(text, kind);
    this.log.appendChild(node);
    this.log.scrollTop = this.log.scrollHeight;
    return node;
  }

  /** Append a node (e.g. the rating card) to the log and show it. */
  append(node) {
    this.log.appendChild(node);
    this.log.scrollTop = this.log.scrollHeight;
  }
}

function CSS_SUPPORTS(color) {
  try {
    return window.CSS.supports("color", color);
  } catch (_) {
    return false;
  }
}
