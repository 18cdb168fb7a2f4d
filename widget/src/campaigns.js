/**
 * Proactive campaigns in the widget (docs/protocol.md "Proactive campaigns";
 * the server decides who is addressed, docs/campaigns.md).
 *
 * - `campaign_watch {campaign_id, token, when}`: watch this page for `when`
 *   (campaign_watch.js) and, once it holds, send `campaign_ready
 *   {campaign_id, token}`, once. A new page (Rapport.pageView, popstate)
 *   ends the watches: the server sends the new page's own.
 * - `Rapport.trigger(name, data)`: `site_trigger {name, data?}`, the same
 *   name at most once a second from here (the server limits the rest); it
 *   also completes watches waiting for that trigger on this page.
 * - `campaign_shown`: the teaser (teaser.js) while the chat is closed; with
 *   the chat open, the opener's messages simply arrive in it. A dismissed
 *   campaign is remembered here (and by the server, across devices).
 */

import { CampaignWatch, isExitIntent, parseWhen, scrollPercent } from "./campaign_watch.js";
import { TRIGGER_NAME_PATTERN } from "./protocol.gen.js";
import { DISMISSED_KEY, getItem, setItem } from "./storage.js";

export const TRIGGER_DEBOUNCE_MS = 1000;
const TRIGGER_NAME = new RegExp(TRIGGER_NAME_PATTERN);
const MAX_TRIGGER_DATA = 2000; // characters of JSON
const MAX_DISMISSED = 100;
// The opener's messages and campaign_shown may arrive in either order.
const OPENER_WAIT_MS = 10000;
const KINDS = ["bot", "agent", "nps"];

const clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => window.setTimeout(fn, ms),
  clearTimeout: (id) => window.clearTimeout(id),
};

function readDismissed() {
  try {
    const value = JSON.parse(getItem(DISMISSED_KEY) || "{}");
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  } catch (_) {
    return {};
  }
}

function pageVisible() {
  return document.visibilityState !== "hidden";
}

function pageScroll() {
  const root = document.documentElement;
  return scrollPercent(window.scrollY || 0, window.innerHeight, Math.max(root.scrollHeight, document.body ? document.body.scrollHeight : 0));
}

/** Whether `data` is a small JSON object (what `site_trigger.data` may be). */
function validData(data) {
  if (data === undefined) return true;
  if (!data || typeof data !== "object" || Array.isArray(data)) return false;
  try {
    return JSON.stringify(data).length <= MAX_TRIGGER_DATA;
  } catch (_) {
    return false; // cycles, BigInt
  }
}

export class Campaigns {
  /**
   * @param {object} deps connection, ui (WidgetUI), teaser (Teaser),
   *   activeMs() (visible time of the current page so far)
   */
  constructor({ connection, ui, teaser, activeMs }) {
    this.connection = connection;
    this.ui = ui;
    this.teaser = teaser;
    this.activeMs = activeMs;
    this.watches = new Map(); // campaign id -> CampaignWatch
    this.triggers = new Set(); // names fired on this page
    this.triggeredAt = new Map(); // name -> last time sent
    this.lastBot = null; // {payload, at}: the newest bot/agent message
    this.waiting = null; // {campaignId, timer}: a teaser waiting for its opener message
    this.pendingNps = null; // {id, message}: a survey waiting for the chat to close
    this.finePointer = !!(window.matchMedia && window.matchMedia("(pointer: fine)").matches);
    this.listen();
  }

  /** Page signals, forwarded to every watch. */
  listen() {
    const each = (fn) => {
      for (const w of this.watches.values()) fn(w);
    };
    const passive = { passive: true, capture: true };
    document.addEventListener("visibilitychange", () => each((w) => w.visibility(pageVisible())));
    window.addEventListener("scroll", () => {
      if (!this.watches.size) return;
      const depth = pageScroll();
      each((w) => {
        w.activity();
        w.scroll(depth);
      });
    }, passive);
    for (const type of ["mousemove", "keydown", "pointerdown", "touchstart", "wheel"]) {
      window.addEventListener(type, () => each((w) => w.activity()), passive);
    }
    // Exit intent: desktop pointers only (a touch screen has no "leaving").
    if (this.finePointer) {
      document.addEventListener("mouseout", (event) => {
        if (isExitIntent(event.clientY, event.relatedTarget)) each((w) => w.exitIntent());
      });
    }
  }

  /** `campaign_watch`. */
  watch(data) {
    const id = data.campaign_id;
    this.stopWatch(id);
    if (this.isDismissed(id)) return;
    const when = parseWhen(data.when === undefined ? {} : data.when);
    if (!when) return; // a condition this client does not understand: never shown
    if (when.exitIntent && !this.finePointer) return;
    const token = data.token;
    const watch = new CampaignWatch(data.when || {}, {
      clock,
      visible: pageVisible(),
      activeMs: this.activeMs(),
      scrollPercent: pageScroll(),
      triggers: [...this.triggers],
      onMet: () => {
        this.watches.delete(id);
        this.connection.campaignReady(id, token);
      },
    });
    if (!watch.done) this.watches.set(id, watch);
  }

  stopWatch(id) {
    const watch = this.watches.get(id);
    if (watch) watch.stop();
    this.watches.delete(id);
  }

  /** A new page: its watches and triggers start afresh. */
  pageChanged() {
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
    this.triggers.clear();
  }

  /** `Rapport.trigger(name, data)`: true when sent (or queued), false when refused or too soon. */
  trigger(name, data) {
    if (typeof name !== "string" || !TRIGGER_NAME.test(name)) {
      console.warn("Rapport.trigger: the name must be a letter then up to 49 letters, digits or _ . : -");
      return false;
    }
    if (!validData(data)) {
      console.warn("Rapport.trigger: data must be a plain object of at most 2000 characters as JSON");
      return false;
    }
    this.triggers.add(name);
    for (const w of this.watches.values()) w.trigger(name);
    const now = Date.now();
    const last = this.triggeredAt.get(name);
    if (last !== undefined && now - last < TRIGGER_DEBOUNCE_MS) return false;
    this.triggeredAt.set(name, now);
    this.connection.siteTrigger(name, data === undefined ? undefined : JSON.parse(JSON.stringify(data)));
    return true;
  }

  isDismissed(id) {
    return Object.prototype.hasOwnProperty.call(readDismissed(), String(id));
  }

  rememberDismissed(id) {
    const dismissed = readDismissed();
    dismissed[String(id)] = Date.now();
    const newest = Object.entries(dismissed).sort((a, b) => b[1] - a[1]).slice(0, MAX_DISMISSED);
    setItem(DISMISSED_KEY, JSON.stringify(Object.fromEntries(newest)));
  }

  /** × (or Escape) on a teaser. */
  dismissed(id) {
    this.rememberDismissed(id);
    this.connection.campaignDismissed(id);
  }

  /** Every bot/agent message shown (the opener may come before `campaign_shown`). */
  botMessage(payload) {
    this.lastBot = { payload, at: Date.now() };
    if (this.waiting) {
      const { campaignId } = this.waiting;
      this.cancelWaiting();
      if (!this.ui.isOpen && typeof payload.text === "string" && payload.text) this.teaser.showOpener(campaignId, payload);
    }
  }

  cancelWaiting() {
    if (this.waiting) clearTimeout(this.waiting.timer);
    this.waiting = null;
  }

  /** `campaign_shown {campaign_id, arm, kind, conversation_id?, message?}`. */
  shown(data) {
    const id = data.campaign_id;
    const kind = KINDS.includes(data.kind) ? data.kind : "bot";
    this.stopWatch(id);
    if (this.isDismissed(id)) return;
    const message = data.message && typeof data.message === "object" ? data.message : null;
    if (kind === "nps") {
      // The survey sits by the launcher: over an open chat, it waits until the chat is closed.
      if (this.ui.isOpen) this.pendingNps = { id, message };
      else this.teaser.showNps(id, message);
      return;
    }
    // With the chat open the opener's messages are simply in it.
    if (this.ui.isOpen) return;
    this.cancelWaiting();
    if (message && typeof message.text === "string" && message.text) {
      this.teaser.showOpener(id, message);
      return;
    }
    const recent = this.lastBot && Date.now() - this.lastBot.at < OPENER_WAIT_MS ? this.lastBot.payload : null;
    if (recent && typeof recent.text === "string" && recent.text) {
      this.teaser.showOpener(id, recent);
      return;
    }
    this.waiting = { campaignId: id, timer: setTimeout(() => this.cancelWaiting(), OPENER_WAIT_MS) };
  }

  /** The chat was opened or closed. Opened, the teaser has done its job (not a dismissal). */
  toggled(opened) {
    if (opened) {
      this.cancelWaiting();
      if (this.teaser.visible) {
        if (this.teaser.node.classList.contains("teaser-nps") && !this.teaser.node.classList.contains("nps-done")) {
          this.pendingNps = { id: this.teaser.campaignId, message: this.teaser.npsMessage };
        }
        this.teaser.hide();
      }
      return;
    }
    const survey = this.pendingNps;
    this.pendingNps = null;
    if (survey && !this.isDismissed(survey.id)) this.teaser.showNps(survey.id, survey.message);
  }
}
