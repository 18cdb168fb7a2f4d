// Unit tests of the console's labels and formatting helpers (console/src/format.js).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  ago,
  agentName,
  clock,
  confidence,
  fullDate,
  humanize,
  initials,
  payloadSummary,
  preview,
  slotText,
  visitorName,
  when,
} from "../../console/src/format.js";

// Run in a zone that is not UTC, so reading a naive timestamp as local time would show.
process.env.TZ = "America/New_York";

describe("visitorName", () => {
  test("a visitor's own name, trimmed", () => {
    assert.equal(visitorName({ name: "  Ada Lovelace " }, "abcdef123"), "Ada Lovelace");
  });

  test("without a name: 'Visitor' and the first six characters of the id", () => {
    assert.equal(visitorName({ name: "   ", id: "0123456789" }), "Visitor 012345");
    assert.equal(visitorName(null, "ffeeddccbb"), "Visitor ffeedd");
    assert.equal(visitorName({ id: 42 }), "Visitor 42");
  });

  test("no name and no id", () => {
    assert.equal(visitorName(null, null), "Visitor");
    assert.equal(visitorName({ name: 7 }), "Visitor"); // not a string: ignored
  });
});

describe("initials", () => {
  test("first and last word", () => {
    assert.equal(initials("ada byron lovelace"), "AL");
    assert.equal(initials("  Grace  "), "G");
  });

  test("an anonymous visitor is V, not the id's first letter", () => {
    assert.equal(initials("Visitor 0a1b2c"), "V");
  });

  test("nothing to show", () => {
    assert.equal(initials(""), "?");
    assert.equal(initials("   "), "?");
    assert.equal(initials(null), "?");
  });
});

describe("clock, when, fullDate", () => {
  const NOW = new Date(2026, 5, 15, 12, 0, 0); // 15 Jun 2026, 12:00 local

  test("clock reads a naive server timestamp as UTC", () => {
    assert.equal(clock("2026-06-15T09:05:00"), clock("2026-06-15T09:05:00Z"));
    assert.equal(clock("2026-06-15T09:05:00+00:00"), clock("2026-06-15T09:05:00Z"));
    assert.notEqual(clock("2026-06-15T09:05:00Z"), clock("2026-06-15T10:05:00Z"));
  });

  test("nothing for a missing or unreadable time", () => {
    for (const bad of [null, undefined, "", "yesterday", 12345]) {
      assert.equal(clock(bad), "");
      assert.equal(when(bad, NOW), "");
      assert.equal(fullDate(bad), "");
      assert.equal(ago(bad, NOW), "");
    }
  });

  test("today: the clock only", () => {
    const value = new Date(2026, 5, 15, 8, 30).toISOString();
    assert.equal(when(value, NOW), clock(value));
  });

  test("this week: weekday and clock", () => {
    const d = new Date(2026, 5, 13, 8, 30); // two days before
    const value = d.toISOString();
    const weekday = d.toLocaleDateString([], { weekday: "short" });
    assert.equal(when(value, NOW), `${weekday} ${clock(value)}`);
  });

  test("earlier this year: day and month, no clock, no year", () => {
    const value = new Date(2026, 2, 3, 8, 30).toISOString();
    const text = when(value, NOW);
    assert.ok(!text.includes(clock(value)), text);
    assert.ok(!text.includes("2026"), text);
    assert.match(text, /\b3\b/);
  });

  test("another year: the year is shown", () => {
    const text = when(new Date(2025, 2, 3, 8, 30).toISOString(), NOW);
    assert.match(text, /2025/);
  });
});

describe("ago", () => {
  const t0 = Date.parse("2026-06-15T12:00:00Z");
  const at = (seconds) => t0 + seconds * 1000;

  test("rounds to the coarsest useful unit", () => {
    const cases = [
      [0, "just now"],
      [44, "just now"],
      [45, "1 min"],
      [59 * 60, "59 min"],
      [3600, "1 h"],
      [23 * 3600, "23 h"],
      [86400, "1 d"],
      [3 * 86400, "3 d"],
    ];
    for (const [seconds, expected] of cases) {
      assert.equal(ago("2026-06-15T12:00:00Z", at(seconds)), expected, `${seconds} s`);
    }
  });

  test("a naive timestamp is UTC; a time in the future is just now", () => {
    assert.equal(ago("2026-06-15T12:00:00", at(2 * 3600)), "2 h");
    assert.equal(ago("2026-06-15T13:00:00Z", at(0)), "just now");
  });
});

describe("small formatters", () => {
  test("confidence: two decimals or nothing", () => {
    assert.equal(confidence(0.876), "0.88");
    assert.equal(confidence("1"), "1.00");
    assert.equal(confidence("high"), "");
    assert.equal(confidence(Infinity), "");
  });

  test("humanize: slot and key names as words", () => {
    assert.equal(humanize("order_number"), "Order number");
    assert.equal(humanize("utm-source__x"), "Utm source x");
    assert.equal(humanize("__"), "");
  });

  test("slotText: booleans, lists, objects, empties", () => {
    assert.equal(slotText(true), "Yes");
    assert.equal(slotText(false), "No");
    assert.equal(slotText(0), "0");
    assert.equal(slotText(["a", "", null, 2, false]), "a, 2, No");
    assert.equal(slotText({ size: "L" }), '{"size":"L"}');
    assert.equal(slotText(null), "");
    assert.equal(slotText(""), "");
  });

  test("slotText: an object that cannot be serialised is nothing, not an exception", () => {
    const loop = {};
    loop.self = loop;
    assert.equal(slotText(loop), "");
    assert.equal(slotText({ n: 10n }), "");
  });

  test("slotText: markup stays text", () => {
    assert.equal(slotText("<img src=x onerror=alert(1)>"), "<img src=x onerror=alert(1)>");
  });

  test("agentName", () => {
    const me = { id: 1 };
    assert.equal(agentName(null, me), "");
    assert.equal(agentName({ id: 1, display_name: "Me" }, me), "You");
    assert.equal(agentName({ id: 2, display_name: "Sam", username: "sam" }, me), "Sam");
    assert.equal(agentName({ id: 2, username: "sam" }, me), "sam");
    assert.equal(agentName({ id: 3 }, null), "Agent 3");
  });
});

describe("preview and payloadSummary", () => {
  const me = { id: 1 };

  test("who wrote the last message", () => {
    assert.equal(preview({ direction: "visitor", text: "hi" }, me), "hi");
    assert.equal(preview({ direction: "bot", text: "Hello" }, me), "Bot: Hello");
    assert.equal(preview({ direction: "note", text: "VIP" }, me), "Note: VIP");
    assert.equal(preview({ direction: "agent", text: "ok", agent: { id: 1 } }, me), "You: ok");
    assert.equal(preview({ direction: "agent", text: "ok", agent: { id: 2 } }, me), "Agent: ok");
    assert.equal(preview({ direction: "agent", text: "ok", agent: null }, me), "Agent: ok");
    assert.equal(preview(null, me), "");
  });

  test("an older server without last_message.agent: the conversation's agent", () => {
    const conversation = { assigned_agent: { id: 1 } };
    assert.equal(preview({ direction: "agent", text: "ok" }, me, conversation), "You: ok");
    // An explicit null author is not replaced by the assigned agent.
    assert.equal(preview({ direction: "agent", text: "ok", agent: null }, me, conversation), "Agent: ok");
  });

  test("a bot message without text is summarised", () => {
    assert.equal(preview({ direction: "bot", text: "", payload: { buttons: [] } }, me), "Bot: Suggested replies");
    assert.equal(payloadSummary({ custom: { products: [{}, {}, {}] } }), "3 product card(s)");
    assert.equal(payloadSummary({ quick_replies: [] }), "Suggested replies");
    assert.equal(payloadSummary({ attachment: "https://x/y.png" }), "Attachment");
    assert.equal(payloadSummary({ custom: { products: "many" } }), "");
    assert.equal(payloadSummary("text"), "");
    assert.equal(payloadSummary(null), "");
  });
});
