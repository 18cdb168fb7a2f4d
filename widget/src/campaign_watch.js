/**
 * When a campaign's on-page condition holds (`campaign_watch.when`,
 * docs/protocol.md "Proactive campaigns"). Pure: no DOM, no socket; the
 * caller feeds it page signals and a clock (campaigns.js does, from the
 * browser; tests/js/campaign_watch.test.js does, with a fake clock).
 *
 * `when` = {active_seconds?, scroll_percent?, exit_intent?, idle_seconds?, site_trigger?};
 * every condition given must hold at the same moment:
 *
 * - `active_seconds`: the page has been visible that long (time in a hidden
 *   tab does not count; the time before the watch began does, when the
 *   caller says how much there was).
 * - `scroll_percent`: the visitor has scrolled that deep at some point on
 *   this page (0–100, of the scrollable height; a page that cannot scroll is
 *   100 % read).
 * - `idle_seconds`: no activity (pointer, keys, scroll, touch) for that long
 *   while the page is visible; coming back to the tab counts as activity.
 * - `site_trigger`: the page called `Rapport.trigger(name)` with that name
 *   (at any time on this page: "added to cart" stays true).
 * - `exit_intent`: the pointer left through the top of the viewport. An
 *   event, not a state: it counts only at that moment, so the other
 *   conditions must already hold then. Desktop pointers only: the caller
 *   does not watch an exit-intent condition on touch devices.
 *
 * Nothing holds while the page is hidden (active tab only). Once the
 * condition has held, `onMet` is called exactly once and the watch stops.
 */

const MAX_SECONDS = 24 * 3600;

function seconds(value) {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= MAX_SECONDS ? value : null;
}

/**
 * The `when` object normalised ({activeMs, scrollPercent, idleMs, exitIntent,
 * siteTrigger}), or null when it is not an object or a given field has the
 * wrong type (the server sent something this client does not understand:
 * better never to show than to show at the wrong time). Unknown keys → null
 * as well, for the same reason.
 */
export function parseWhen(when) {
  if (!when || typeof when !== "object" || Array.isArray(when)) return null;
  const known = ["active_seconds", "scroll_percent", "exit_intent", "idle_seconds", "site_trigger"];
  for (const key of Object.keys(when)) {
    if (!known.includes(key)) return null;
  }
  const out = { activeMs: 0, scrollPercent: 0, idleMs: 0, exitIntent: false, siteTrigger: null };
  if (when.active_seconds !== undefined && when.active_seconds !== null) {
    const s = seconds(when.active_seconds);
    if (s === null) return null;
    out.activeMs = s * 1000;
  }
  if (when.idle_seconds !== undefined && when.idle_seconds !== null) {
    const s = seconds(when.idle_seconds);
    if (s === null) return null;
    out.idleMs = s * 1000;
  }
  if (when.scroll_percent !== undefined && when.scroll_percent !== null) {
    const p = when.scroll_percent;
    if (typeof p !== "number" || !Number.isFinite(p) || p < 0 || p > 100) return null;
    out.scrollPercent = p;
  }
  if (when.exit_intent !== undefined && when.exit_intent !== null) {
    if (typeof when.exit_intent !== "boolean") return null;
    out.exitIntent = when.exit_intent;
  }
  if (when.site_trigger !== undefined && when.site_trigger !== null) {
    if (typeof when.site_trigger !== "string" || !when.site_trigger) return null;
    out.siteTrigger = when.site_trigger;
  }
  return out;
}

/** How deep (0–100) a page is scrolled: the bottom of the viewport over the document height. */
export function scrollPercent(scrollY, viewportHeight, documentHeight) {
  if (!(documentHeight > viewportHeight)) return 100; // nothing to scroll: all of it is read
  const seen = Math.max(0, scrollY) + viewportHeight;
  return Math.max(0, Math.min(100, (seen / documentHeight) * 100));
}

/**
 * Whether a `mouseout` is the pointer leaving through the top of the
 * viewport (towards the tabs and the address bar): it left the document
 * (`relatedTarget` null) at or above its top edge.
 */
export function isExitIntent(clientY, relatedTarget) {
  return relatedTarget === null && typeof clientY === "number" && clientY <= 0;
}

export class CampaignWatch {
  /**
   * @param {object} when the server's `when` (see parseWhen); invalid → never met
   * @param {object} options
   *   clock: {now(), setTimeout(fn, ms), clearTimeout(id)};
   *   visible: whether the page is visible now;
   *   activeMs: how long the page was visible before this watch began;
   *   scrollPercent: how deep the page has been scrolled so far;
   *   triggers: site trigger names the page already fired;
   *   onMet(): called once when the condition holds.
   */
  constructor(when, options) {
    this.when = parseWhen(when);
    this.clock = options.clock;
    this.onMet = options.onMet;
    this.visible = options.visible !== false;
    const now = this.clock.now();
    this.activeBefore = Math.max(0, options.activeMs || 0); // visible time before visibleSince
    this.visibleSince = this.visible ? now : null;
    this.lastActivity = now;
    this.maxScroll = Math.max(0, Math.min(100, options.scrollPercent || 0));
    this.triggers = new Set(options.triggers || []);
    this.timer = null;
    this.done = !this.when;
    this.check(false);
  }

  /** Visible page time so far (ms). */
  activeMs(now) {
    return this.activeBefore + (this.visibleSince === null ? 0 : now - this.visibleSince);
  }

  /** Every state condition holds at `now` (exit intent is checked by exitIntent()). */
  holds(now) {
    const w = this.when;
    if (!w || !this.visible) return false;
    if (this.activeMs(now) < w.activeMs) return false;
    if (this.maxScroll < w.scrollPercent) return false;
    if (w.idleMs && now - this.lastActivity < w.idleMs) return false;
    if (w.siteTrigger && !this.triggers.has(w.siteTrigger)) return false;
    return true;
  }

  /** Fire if met (exit intent only when `exiting`); otherwise wait for the next time it could be. */
  check(exiting) {
    if (this.done) return;
    const now = this.clock.now();
    if (this.holds(now) && (!this.when.exitIntent || exiting)) {
      this.stop();
      this.onMet();
      return;
    }
    this.schedule(now);
  }

  /** A timer for the moment time alone would make the state conditions hold. */
  schedule(now) {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    const w = this.when;
    if (this.done || !this.visible || w.exitIntent) return; // only an event can complete it
    if (this.maxScroll < w.scrollPercent) return;
    if (w.siteTrigger && !this.triggers.has(w.siteTrigger)) return;
    const waits = [w.activeMs - this.activeMs(now)];
    if (w.idleMs) waits.push(w.idleMs - (now - this.lastActivity));
    const wait = Math.max(0, ...waits);
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.check(false);
    }, wait);
  }

  /** The tab was shown or hidden. */
  visibility(visible) {
    if (this.done || visible === this.visible) return;
    const now = this.clock.now();
    if (visible) {
      this.visibleSince = now;
      this.lastActivity = now; // coming back is activity: idle starts afresh
    } else {
      this.activeBefore = this.activeMs(now);
      this.visibleSince = null;
    }
    this.visible = visible;
    this.check(false);
  }

  /** The page is scrolled `percent` deep (only the deepest point counts). */
  scroll(percent) {
    if (this.done || typeof percent !== "number" || !Number.isFinite(percent)) return;
    this.maxScroll = Math.max(this.maxScroll, Math.min(100, percent));
    this.check(false);
  }

  /** The visitor did something (moved, typed, scrolled, touched). */
  activity() {
    if (this.done) return;
    this.lastActivity = this.clock.now();
    // A pending timer re-checks and waits again for what is left, so a
    // stream of mouse moves does not re-arm a timer each time.
    if (this.when.idleMs && this.timer === null) this.schedule(this.lastActivity);
  }

  /** `Rapport.trigger(name)`. */
  trigger(name) {
    if (this.done || typeof name !== "string") return;
    this.triggers.add(name);
    this.check(false);
  }

  /** The pointer left through the top of the viewport. */
  exitIntent() {
    if (this.done) return;
    this.check(true);
  }

  /** Stop watching (met, replaced, or the page changed). */
  stop() {
    this.done = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
