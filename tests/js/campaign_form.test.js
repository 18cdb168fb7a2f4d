// Unit tests of the campaign and segment editors' pure helpers (console/src/campaign_form.js).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  allocationProblem, emptyCampaign, evenWeights, fieldErrors, errorsUnder, fromCampaign, inputKind, splitText,
  toFilter, toPayload,
} from "../../console/src/campaign_form.js";

const variants = (...weights) => weights.map((weight, i) => ({ key: "ABCDE"[i], weight }));

describe("the split", () => {
  test("each arm's share of all traffic: weights are shares of the treated visitors", () => {
    assert.equal(splitText(variants(0.5, 0.5), 0.1), "control 10 % · A 45 % · B 45 %");
    assert.equal(splitText(variants(1), 0), "A 100 %");
  });
  test("even weights add up to 1 exactly", () => {
    assert.deepEqual(evenWeights(3), [0.3333, 0.3333, 0.3334]);
    assert.equal(allocationProblem(variants(...evenWeights(3)), 0.1), "");
  });
  test("weights that do not add up, a zero weight, a holdout out of range", () => {
    assert.match(allocationProblem(variants(0.5, 0.3), 0.1), /add up to 80 %/);
    assert.match(allocationProblem(variants(1, 0), 0.1), /above 0/);
    assert.match(allocationProblem(variants(1), 0.95), /between 0 % and 90 %/);
    assert.match(allocationProblem([], 0.1), /at least one/);
  });
});

describe("form ↔ payload", () => {
  test("empty values are left out, lists split, dates in ISO, the segment and dates inside rules", () => {
    const form = emptyCampaign();
    form.name = "  Tents  ";
    form.goal = { type: "reply", name: "ignored", window_hours: "24" };
    form.rules = { ...form.rules, url_include: "/products/*\n/tents/**", utm_source: "google, newsletter", active_seconds: "20",
      exit_intent: true, segment_id: "4", visitor: "returning", starts_at: "2026-01-02T10:00" };
    form.variants[0].content = { text: "Hi", quick_replies: "Yes, No", buttons: [{ title: "Show me", payload: "" }, { title: " " }], products: true, followup: "" };
    const body = toPayload(form);
    assert.equal(body.name, "Tents");
    assert.deepEqual(body.goal, { type: "reply", window_hours: 24 });
    assert.deepEqual(body.rules.url_include, ["/products/*", "/tents/**"]);
    assert.deepEqual(body.rules.utm_source, ["google", "newsletter"]);
    assert.equal(body.rules.active_seconds, 20);
    assert.equal(body.rules.segment_id, 4);
    assert.equal(body.rules.visitor, "returning");
    assert.equal(body.rules.starts_at, new Date("2026-01-02T10:00").toISOString());
    assert.equal(body.rules.url_regex, undefined);
    assert.equal("agent_id" in body, false);
    assert.deepEqual(body.variants[0].content, { text: "Hi", quick_replies: ["Yes", "No"], buttons: [{ title: "Show me", payload: "Show me" }], products: true });
  });
  test("an NPS variant sends its question only", () => {
    const form = emptyCampaign();
    form.kind = "nps";
    form.variants[0].content.question = "How likely…?";
    assert.deepEqual(toPayload(form).variants[0].content, { question: "How likely…?" });
  });
  test("a stored campaign comes back as the same payload", () => {
    const form = emptyCampaign();
    form.name = "Back";
    form.goal = { type: "conversion", name: "purchase", window_hours: 48 };
    form.rules = { ...form.rules, url_exclude: ["/cart"], devices: ["mobile"], ends_at: "2026-03-01T08:30" };
    const body = toPayload(form);
    assert.deepEqual(toPayload(fromCampaign({ id: 3, status: "draft", ...body })), body);
  });
});

describe("validation messages", () => {
  test("the server's list of {field, message} by field; body is the form's", () => {
    const errors = fieldErrors({ errors: [
      { field: "rules.url_include", message: "'products': start with /" },
      { field: "variants", message: "variant weights must add up to 1" },
      { field: "body", message: "bad" },
    ] });
    assert.deepEqual(errors, { "rules.url_include": "'products': start with /", variants: "variant weights must add up to 1", "": "bad" });
    assert.equal(errorsUnder(errors, "rules"), "'products': start with /");
    assert.equal(errorsUnder(errors, "rule"), "");
  });
  test("an object of fields, and a plain error", () => {
    assert.deepEqual(fieldErrors({ errors: { name: ["taken"] } }), { name: "taken" });
    assert.deepEqual(fieldErrors({ error: "invalid", message: "no" }), { "": "no" });
    assert.deepEqual(fieldErrors({ ok: true, errors: [] }), {});
  });
});

describe("segment conditions", () => {
  const fields = [
    { name: "visits", type: "int", operators: ["gte", "lte"] },
    { name: "device", type: "enum", values: ["desktop", "mobile"], operators: ["eq", "in"] },
    { name: "identified", type: "bool", operators: ["eq"] },
    { name: "last_seen_at", type: "datetime", operators: ["within_days", "before"] },
    { name: "email", type: "string", operators: ["exists", "contains"] },
    // As GET /api/segments/fields describes them (chat_server/services/segments/fields.py).
    { name: "last_seen", type: "days_ago", operators: ["within", "before", "is_set", "is_not_set"] },
    { name: "consent", type: "bool", operators: ["is"] },
    { name: "interest", type: "tag", operators: ["has", "not_has", "has_any"] },
    { name: "device2", type: "enum", options: ["desktop", "mobile"], operators: ["eq", "in", "is_set"] },
  ];
  test("the value input follows the field's type and the operator", () => {
    const kind = (name, op) => inputKind(fields.find((f) => f.name === name), op);
    assert.equal(kind("visits", "gte"), "number");
    assert.equal(kind("device", "eq"), "select");
    assert.equal(kind("device", "in"), "multi");
    assert.equal(kind("identified", "eq"), "boolean");
    assert.equal(kind("last_seen_at", "within_days"), "number");
    assert.equal(kind("last_seen_at", "before"), "date");
    assert.equal(kind("email", "exists"), "none");
    assert.equal(kind("email", "contains"), "text");
    assert.equal(kind("last_seen", "within"), "number");
    assert.equal(kind("last_seen", "before"), "number");
    assert.equal(kind("last_seen", "is_not_set"), "none");
    assert.equal(kind("consent", "is"), "boolean");
    assert.equal(kind("interest", "has"), "text");
    assert.equal(kind("interest", "has_any"), "list");
    assert.equal(kind("device2", "eq"), "select");
    assert.equal(kind("device2", "in"), "multi");
  });
  test("the filter sent has typed values", () => {
    const filter = toFilter("any", [
      { field: "visits", op: "gte", value: "3" },
      { field: "identified", op: "eq", value: true },
      { field: "email", op: "exists", value: "" },
    ], fields);
    assert.deepEqual(filter, { match: "any", conditions: [
      { field: "visits", op: "gte", value: 3 },
      { field: "identified", op: "eq", value: true },
      { field: "email", op: "exists" },
    ] });
  });
});

describe("messages of /api/segments (one line naming each place)", () => {
  test("split by place; a plain message stays the form's", () => {
    assert.deepEqual(
      fieldErrors({ error: "invalid", message: "filter.conditions.1: value of visits gte: the value must be at least 0; name: String should have at least 1 character" }),
      { "filter.conditions.1": "value of visits gte: the value must be at least 0", name: "String should have at least 1 character" },
    );
    assert.deepEqual(fieldErrors({ error: "conflict", message: "a segment named 'x' exists" }), { "": "a segment named 'x' exists" });
  });
});

describe("editing a campaign that has run", () => {
  test("a draft sends everything; afterwards only name, priority, rules and variants", async () => {
    const { patchFor, allocationLocked } = await import("../../console/src/campaign_form.js");
    const body = { name: "n", kind: "bot", priority: 1, rules: {}, variants: [], holdout: 0.1, goal: {}, per_visitor_cap: 1 };
    assert.deepEqual(patchFor("draft", body), body);
    assert.deepEqual(Object.keys(patchFor("running", body)), ["name", "priority", "rules", "variants"]);
    assert.equal(allocationLocked("draft"), false);
    assert.equal(allocationLocked("paused"), true);
  });
});
