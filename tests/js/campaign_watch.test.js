// Unit tests of the campaign watch condition (widget/src/campaign_watch.js),
// driven by a fake clock: time moves only when the test says so.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { CampaignWatch, isExitIntent, parseWhen, scrollPercent } from "../../widget/src/campaign_watch.js";

/** setTimeout/clearTimeout/now over a virtual time line. */
class FakeClock {
  constructor(start = 1_000_000) {
    this.time = start;
    this.timers = new Map();
    this.nextId = 1;
  }

  now() {
    return this.time;
  }

  setTimeout(fn, ms) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id) {
    this.timers.delete(id);
  }

  /** Move time forward by `ms`, running every timer that falls due, in order. */
  advance(ms) {
    const end = this.time + ms;
    for (;;) {
      let next = null;
      for (const [id, t] of this.timers) {
        if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
    }
    this.time = end;
  }
}

function watch(when, options = {}) {
  const clock = options.clock || new FakeClock();
  const fired = [];
  const w = new CampaignWatch(when, {
    clock,
    visible: options.visible,
    activeMs: options.activeMs,
    scrollPercent: options.scrollPercent,
    triggers: options.triggers,
    onMet: () => fired.push(clock.now()),
  });
  return { w, clock, fired, start: clock.now() };
}

describe("parseWhen", () => {
  test("normalises the fields to milliseconds and defaults", () => {
    assert.deepEqual(parseWhen({ active_seconds: 5, scroll_percent: 50, idle_seconds: 2.5, exit_intent: true, site_trigger: "cart" }), {
      activeMs: 5000, scrollPercent: 50, idleMs: 2500, exitIntent: true, siteTrigger: "cart",
    });
    assert.deepEqual(parseWhen({}), { activeMs: 0, scrollPercent: 0, idleMs: 0, exitIntent: false, siteTrigger: null });
  });

  test("anything it does not understand is refused (never shown rather than shown at the wrong time)", () => {
    for (const bad of [
      null, undefined, "5", 5, [], { active_seconds: "5" }, { active_seconds: -1 }, { active_seconds: Infinity },
      { active_seconds: 1e9 }, { scroll_percent: 101 }, { scroll_percent: -3 }, { scroll_percent: NaN },
      { exit_intent: "yes" }, { idle_seconds: {} }, { site_trigger: "" }, { site_trigger: 3 }, { url: "/x" },
    ]) {
      assert.equal(parseWhen(bad), null, JSON.stringify(bad));
    }
  });
});

describe("scrollPercent and isExitIntent", () => {
  test("depth is the bottom of the viewport over the document height", () => {
    assert.equal(scrollPercent(0, 800, 1600), 50);
    assert.equal(scrollPercent(800, 800, 1600), 100);
    assert.equal(scrollPercent(-40, 800, 1600), 50); // iOS rubber-banding
    assert.equal(scrollPercent(0, 800, 800), 100); // a page that cannot scroll
    assert.equal(scrollPercent(0, 800, 0), 100);
  });

  test("exit intent is leaving the document through its top edge", () => {
    assert.equal(isExitIntent(-2, null), true);
    assert.equal(isExitIntent(0, null), true);
    assert.equal(isExitIntent(300, null), false); // left through a side or the bottom
    assert.equal(isExitIntent(-2, {}), false); // moved onto another element (e.g. a fixed header)
  });
});

describe("CampaignWatch: active time", () => {
  test("met once the page has been visible for active_seconds, exactly once", () => {
    const { clock, fired, start } = watch({ active_seconds: 10 });
    clock.advance(9_999);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [start + 10_000]);
    clock.advance(60_000);
    assert.equal(fired.length, 1);
  });

  test("time in a hidden tab does not count", () => {
    const { w, clock, fired, start } = watch({ active_seconds: 10 });
    clock.advance(4_000);
    w.visibility(false);
    clock.advance(120_000); // two minutes in another tab
    assert.deepEqual(fired, []);
    w.visibility(true);
    clock.advance(5_999);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [start + 130_000]);
  });

  test("a watch that begins in a hidden tab starts counting when it is shown", () => {
    const { w, clock, fired } = watch({ active_seconds: 3 }, { visible: false });
    clock.advance(10_000);
    assert.deepEqual(fired, []);
    w.visibility(true);
    clock.advance(3_000);
    assert.equal(fired.length, 1);
  });

  test("visible time before the watch began counts (time on page)", () => {
    const { clock, fired, start } = watch({ active_seconds: 10 }, { activeMs: 7_000 });
    clock.advance(3_000);
    assert.deepEqual(fired, [start + 3_000]);
  });

  test("an empty condition holds at once, but not while the page is hidden", () => {
    assert.equal(watch({}).fired.length, 1);
    const hidden = watch({}, { visible: false });
    assert.equal(hidden.fired.length, 0);
    hidden.w.visibility(true);
    assert.equal(hidden.fired.length, 1);
  });

  test("an invalid condition never holds", () => {
    const { w, clock, fired } = watch({ active_seconds: "soon" });
    clock.advance(3_600_000);
    w.scroll(100);
    w.exitIntent();
    w.trigger("x");
    assert.deepEqual(fired, []);
  });
});

describe("CampaignWatch: scroll, trigger, idle, exit intent", () => {
  test("scroll depth is the deepest point reached", () => {
    const { w, fired } = watch({ scroll_percent: 60 });
    w.scroll(30);
    w.scroll(59.9);
    assert.deepEqual(fired, []);
    w.scroll(75);
    assert.equal(fired.length, 1);
    w.scroll(10);
    assert.equal(fired.length, 1);
  });

  test("scroll and time must both hold", () => {
    const { w, clock, fired, start } = watch({ active_seconds: 5, scroll_percent: 50 });
    w.scroll(80);
    assert.deepEqual(fired, []);
    clock.advance(5_000);
    assert.deepEqual(fired, [start + 5_000]);

    const late = watch({ active_seconds: 5, scroll_percent: 50 });
    late.clock.advance(20_000);
    assert.deepEqual(late.fired, []);
    late.w.scroll(50);
    assert.deepEqual(late.fired, [late.start + 20_000]);
  });

  test("a site trigger holds from the moment the page fires it (only its own name)", () => {
    const { w, clock, fired } = watch({ site_trigger: "added_to_cart", active_seconds: 2 });
    w.trigger("viewed_size_chart");
    clock.advance(5_000);
    assert.deepEqual(fired, []);
    w.trigger("added_to_cart");
    assert.equal(fired.length, 1);

    const early = watch({ site_trigger: "added_to_cart", active_seconds: 2 });
    early.w.trigger("added_to_cart");
    assert.deepEqual(early.fired, []);
    early.clock.advance(2_000);
    assert.deepEqual(early.fired, [early.start + 2_000]);
  });

  test("a trigger fired before the watch began counts", () => {
    const { fired } = watch({ site_trigger: "added_to_cart" }, { triggers: ["added_to_cart"] });
    assert.equal(fired.length, 1);
  });

  test("idle: no activity for idle_seconds; each activity restarts the wait", () => {
    const { w, clock, fired, start } = watch({ idle_seconds: 30 });
    clock.advance(20_000);
    w.activity();
    clock.advance(20_000);
    w.activity();
    clock.advance(29_999);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [start + 70_000]);
  });

  test("idle does not count in a hidden tab, and coming back is activity", () => {
    const { w, clock, fired, start } = watch({ idle_seconds: 30 });
    clock.advance(10_000);
    w.visibility(false);
    clock.advance(100_000);
    assert.deepEqual(fired, []);
    w.visibility(true);
    clock.advance(29_000);
    assert.deepEqual(fired, []);
    clock.advance(1_000);
    assert.deepEqual(fired, [start + 140_000]);
  });

  test("exit intent counts only at that moment, and only when the rest already holds", () => {
    const { w, clock, fired, start } = watch({ exit_intent: true, active_seconds: 10 });
    clock.advance(3_000);
    w.exitIntent(); // too early: the visitor has not been here 10 s
    clock.advance(60_000);
    assert.deepEqual(fired, []); // an old exit does not fire later
    w.exitIntent();
    assert.deepEqual(fired, [start + 63_000]);
  });

  test("exit intent alone", () => {
    const { w, fired } = watch({ exit_intent: true });
    assert.deepEqual(fired, []);
    w.exitIntent();
    w.exitIntent();
    assert.equal(fired.length, 1);
  });

  test("nothing holds while hidden, even if every condition did before", () => {
    const { w, clock, fired } = watch({ scroll_percent: 50, exit_intent: true });
    w.scroll(90);
    w.visibility(false);
    w.exitIntent();
    clock.advance(10_000);
    assert.deepEqual(fired, []);
  });

  test("stop() cancels the pending timer", () => {
    const { w, clock, fired } = watch({ active_seconds: 5 });
    w.stop();
    clock.advance(10_000);
    assert.deepEqual(fired, []);
    assert.equal(clock.timers.size, 0);
  });
});
