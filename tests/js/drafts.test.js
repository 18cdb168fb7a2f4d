// Unit tests of composer drafts in browser storage (console/src/drafts.js), with
// an injected fake Storage.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { clearDrafts, draftKey, loadDraft, pruneDrafts, saveDraft } from "../../console/src/drafts.js";
import { FakeStorage } from "./support/fakes.js";

const EMPTY = { mode: "reply", text: "" };

describe("save and load", () => {
  test("a draft comes back, per agent and conversation", () => {
    const s = new FakeStorage();
    saveDraft(1, "c1", { mode: "note", text: "VIP customer" }, s);
    saveDraft(1, "c2", { mode: "reply", text: "Hello" }, s);
    assert.deepEqual(loadDraft(1, "c1", s), { mode: "note", text: "VIP customer" });
    assert.deepEqual(loadDraft(1, "c2", s), { mode: "reply", text: "Hello" });
    assert.deepEqual(loadDraft(2, "c1", s), EMPTY); // another agent sees nothing
  });

  test("an empty reply removes the draft; an empty note is kept (the mode is the draft)", () => {
    const s = new FakeStorage();
    saveDraft(1, "c1", { mode: "reply", text: "Hi" }, s);
    saveDraft(1, "c1", { mode: "reply", text: "" }, s);
    assert.equal(s.getItem(draftKey(1, "c1")), null);
    saveDraft(1, "c1", { mode: "note", text: "" }, s);
    assert.deepEqual(loadDraft(1, "c1", s), { mode: "note", text: "" });
  });

  test("an unknown mode is saved and read as a reply", () => {
    const s = new FakeStorage();
    saveDraft(1, "c1", { mode: "shout", text: "HI" }, s);
    assert.equal(JSON.parse(s.getItem(draftKey(1, "c1"))).mode, "reply");
    s.setItem(draftKey(1, "c2"), JSON.stringify({ mode: "x", text: 5 }));
    assert.deepEqual(loadDraft(1, "c2", s), EMPTY);
  });

  test("unreadable stored values are no draft", () => {
    const s = new FakeStorage();
    for (const raw of ["{not json", "42", '"text"', "null", "[]"]) {
      s.setItem(draftKey(1, "c1"), raw);
      const draft = loadDraft(1, "c1", s);
      assert.equal(draft.text, "", raw);
      assert.equal(draft.mode, "reply", raw);
    }
  });

  test("no signed-in agent: nothing read or written", () => {
    const s = new FakeStorage();
    saveDraft(null, "c1", { mode: "note", text: "x" }, s);
    saveDraft(undefined, "c1", { mode: "note", text: "x" }, s);
    assert.equal(s.length, 0);
    assert.deepEqual(loadDraft(null, "c1", s), EMPTY);
  });

  test("agent 0 is an agent", () => {
    const s = new FakeStorage();
    saveDraft(0, "c1", { mode: "reply", text: "zero" }, s);
    assert.deepEqual(loadDraft(0, "c1", s), { mode: "reply", text: "zero" });
  });
});

describe("storage failures mean no draft, never an exception", () => {
  test("a full quota: saving does nothing, the older draft stays readable", () => {
    const s = new FakeStorage({ quota: 200 });
    saveDraft(1, "c1", { mode: "reply", text: "short" }, s);
    assert.doesNotThrow(() => saveDraft(1, "c1", { mode: "reply", text: "x".repeat(500) }, s));
    assert.deepEqual(loadDraft(1, "c1", s), { mode: "reply", text: "short" });
  });

  test("storage that throws on every call (private mode)", () => {
    const s = new FakeStorage({ broken: true });
    assert.doesNotThrow(() => saveDraft(1, "c1", { mode: "note", text: "x" }, s));
    assert.deepEqual(loadDraft(1, "c1", s), EMPTY);
    assert.doesNotThrow(() => pruneDrafts(1, 1000, Date.now(), s));
    assert.doesNotThrow(() => clearDrafts(1, s));
  });

  test("no storage at all (no localStorage in this environment)", () => {
    assert.equal(globalThis.localStorage, undefined);
    assert.deepEqual(loadDraft(1, "c1"), EMPTY);
    assert.doesNotThrow(() => saveDraft(1, "c1", { mode: "note", text: "x" }));
    assert.doesNotThrow(() => clearDrafts(1));
  });
});

describe("pruneDrafts", () => {
  const DAY = 86400000;

  test("forgets only this agent's drafts untouched for longer than the limit", () => {
    const s = new FakeStorage();
    const now = Date.UTC(2026, 5, 15);
    s.setItem(draftKey(1, "old"), JSON.stringify({ mode: "reply", text: "a", at: now - 8 * DAY }));
    s.setItem(draftKey(1, "new"), JSON.stringify({ mode: "reply", text: "b", at: now - 1 * DAY }));
    s.setItem(draftKey(1, "broken"), "{not json");
    s.setItem(draftKey(1, "no-at"), JSON.stringify({ mode: "reply", text: "c" }));
    s.setItem(draftKey(2, "old"), JSON.stringify({ mode: "reply", text: "d", at: now - 30 * DAY }));
    s.setItem("unrelated", "keep me");
    pruneDrafts(1, 7 * DAY, now, s);
    assert.deepEqual([...s.map.keys()].sort(), [draftKey(1, "new"), draftKey(2, "old"), "unrelated"].sort());
  });

  test("removes every old draft even though removing shifts the storage indexes", () => {
    const s = new FakeStorage();
    for (let i = 0; i < 10; i += 1) saveDraft(1, `c${i}`, { mode: "reply", text: `t${i}` }, s);
    pruneDrafts(1, 1000, Date.now() + 5000, s);
    assert.equal(s.length, 0);
  });

  test("a draft just saved survives", () => {
    const s = new FakeStorage();
    saveDraft(1, "c1", { mode: "reply", text: "fresh" }, s);
    pruneDrafts(1, 60000, Date.now(), s);
    assert.deepEqual(loadDraft(1, "c1", s), { mode: "reply", text: "fresh" });
  });
});

describe("clearDrafts (signing out)", () => {
  test("removes every draft of that agent and nothing else", () => {
    const s = new FakeStorage();
    for (const cid of ["a", "b", "c"]) saveDraft(1, cid, { mode: "note", text: cid }, s);
    saveDraft(12, "a", { mode: "reply", text: "agent 12" }, s); // "rapport.draft.12." starts like "rapport.draft.1"
    saveDraft(2, "a", { mode: "reply", text: "agent 2" }, s);
    s.setItem("rapport.session_id", "s");
    clearDrafts(1, s);
    assert.deepEqual(loadDraft(1, "a", s), EMPTY);
    assert.deepEqual(loadDraft(12, "a", s), { mode: "reply", text: "agent 12" });
    assert.deepEqual(loadDraft(2, "a", s), { mode: "reply", text: "agent 2" });
    assert.equal(s.getItem("rapport.session_id"), "s");
    assert.equal(s.length, 3);
  });
});
