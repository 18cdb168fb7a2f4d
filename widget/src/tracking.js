/**
 * Analytics from the host page (docs/analytics.md): page views, time on page,
 * chat window open/close, and conversion goals reported with Rapport.track().
 */

import { PAGE_LEFT, PAGE_VIEW, TRACK, WIDGET_CLOSED, WIDGET_OPENED } from "./protocol.gen.js";

const TRACK_TIMEOUT_MS = 10000;

/** The page's address without its #fragment: jumping within a page is not a new view. */
function pageUrl() {
  return location.href.split("#")[0];
}

export class SiteTracker {
  /**
   * @param {import("./connection.js").Connection} connection
   * @param {() => void} [onNavigate] the visitor moved to another page of a single-page app
   */
  constructor(connection, onNavigate) {
    this.connection = connection;
    this.onNavigate = onNavigate;
    this.viewedUrl = null; // the URL whose page_view was sent
    this.visibleSince = Date.now();
    this.visibleMs = 0; // time the current page was visible before visibleSince
  }

  /** Listen for navigation and the page being hidden (tab switch, close). */
  watch() {
    window.addEventListener("popstate", () => this.pageView());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") this.left();
      else this.visibleSince = Date.now();
    });
  }

  /** Another person now uses the widget (sign-out): their first page view is this one. */
  restart() {
    this.viewedUrl = null;
  }

  /** A session was confirmed: report the page once per URL. */
  confirmed() {
    if (this.viewedUrl !== pageUrl()) this.pageView();
  }

  /** Report the current page (also `Rapport.pageView()` for single-page apps). */
  pageView() {
    const url = pageUrl();
    if (this.viewedUrl === url) return;
    if (this.viewedUrl) {
      this.left();
      if (this.onNavigate) this.onNavigate();
    }
    this.viewedUrl = url;
    this.visibleSince = Date.now();
    this.visibleMs = 0;
    const payload = { url, title: document.title || null };
    if (document.referrer) payload.referrer = document.referrer;
    this.connection.enqueue(PAGE_VIEW, () => payload);
  }

  /** How long the current page has been visible so far (ms). */
  activeMs() {
    const visibleNow = document.visibilityState !== "hidden" ? Date.now() - this.visibleSince : 0;
    return this.visibleMs + Math.max(0, visibleNow);
  }

  /** The page was hidden: report the time it was visible (only live, never queued). */
  left() {
    if (!this.viewedUrl) return;
    this.visibleMs += Date.now() - this.visibleSince;
    this.visibleSince = Date.now();
    const seconds = Math.round(this.visibleMs / 100) / 10;
    if (this.connection.ready) this.connection.socket.emit(PAGE_LEFT, { url: this.viewedUrl, seconds });
  }

  /** The chat window was opened or closed. */
  toggled(opened) {
    this.connection.enqueue(opened ? WIDGET_OPENED : WIDGET_CLOSED, () => ({ url: pageUrl() }));
  }

  /**
   * Rapport.track(name, {value, currency, order_id, signature?}): a conversion goal;
   * with the signature from the site's backend its value is verified revenue.
   * Resolves to {ok: true, duplicate, verified} once stored; rejects with {code, message}.
   * Calls made before the widget connected wait for the connection.
   */
  track(name, properties) {
    const payload = { name, url: pageUrl() };
    if (properties !== undefined) payload.properties = properties;
    return new Promise((resolve, reject) => {
      this.connection.enqueue(TRACK, () => payload, null, (err, ack) => {
        if (err) reject({ code: "timeout", message: "The chat server did not answer in time." });
        else if (ack && ack.ok) resolve({ ok: true, duplicate: !!ack.duplicate, verified: !!ack.verified });
        else reject({ code: (ack && ack.code) || "error", message: (ack && ack.message) || "Not recorded." });
      }, TRACK_TIMEOUT_MS);
    });
  }
}
