// Unit tests of the widget's outbox of unacknowledged visitor messages
// (widget/src/outbox.js) over its storage (widget/src/storage.js), with a fake
// window.localStorage.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";

import { CLIENT_ID_PATTERN } from "../../widget/src/protocol.gen.js";
import { newClientId, Outbox } from "../../widget/src/outbox.js";
import { forgetPerson, OUTBOX_KEY, removeItem } from "../../widget/src/storage.js";
import { FakeStorage } from "./support/fakes.js";

const HOUR = 3600 * 1000;
let storage;

function useStorage(fake) {
  storage = fake;
  globalThis.window = { localStorage: fake };
}

function stored() {
  return JSON.parse(storage.getItem(OUTBOX_KEY));
}

beforeEach(() => {
  useStorage(new FakeStorage());
  removeItem(OUTBOX_KEY); // also storage.js's in-memory copy
});

afterEach(() => {
  delete globalThis.window;
});

describe("newClientId", () => {
  test("32 hex characters the server accepts, different every time", () => {
    const ids = new Set();
    for (let i = 0; i < 200; i += 1) {
      const id = newClientId();
      assert.match(id, /^[0-9a-f]{32}$/);
      assert.match(id, new RegExp(CLIENT_ID_PATTERN));
      ids.add(id);
    }
    assert.equal(ids.size, 200);
  });
});

describe("Outbox", () => {
  test("a message waits, with its client id, until the server has it", () => {
    const box = new Outbox();
    const a = box.add("hello", "https://shop.example/a");
    const b = box.add("are you there?", "https://shop.example/b");
    assert.deepEqual(box.pending().map((e) => e.message), ["hello", "are you there?"]);
    assert.equal(a.pageUrl, "https://shop.example/a");
    assert.notEqual(a.clientId, b.clientId);

    // A retry (ack timeout, reconnect) re-sends the same entries with the same ids.
    assert.deepEqual(box.pending().map((e) => e.clientId), [a.clientId, b.clientId]);
    assert.deepEqual(box.pending().map((e) => e.clientId), [a.clientId, b.clientId]);

    box.done(a.clientId);
    assert.deepEqual(box.pending().map((e) => e.clientId), [b.clientId]);
    assert.deepEqual(stored().map((e) => e.clientId), [b.clientId]);
  });

  test("survives a reload: a new page's outbox has the same messages and ids", () => {
    const first = new Outbox();
    const a = first.add("one", "u");
    const b = first.add("two", "u");
    const reloaded = new Outbox();
    assert.deepEqual(
      reloaded.pending().map((e) => [e.clientId, e.message]),
      [[a.clientId, "one"], [b.clientId, "two"]]
    );
  });

  test("pending is oldest first, whatever the stored order", () => {
    const now = Date.now();
    storage.setItem(OUTBOX_KEY, JSON.stringify([
      { clientId: "cccccccc", message: "third", at: now - 1000 },
      { clientId: "aaaaaaaa", message: "first", at: now - 3000 },
      { clientId: "bbbbbbbb", message: "second", at: now - 2000 },
    ]));
    assert.deepEqual(new Outbox().pending().map((e) => e.message), ["first", "second", "third"]);
  });

  test("a message older than a day is dropped rather than sent late", () => {
    const now = Date.now();
    storage.setItem(OUTBOX_KEY, JSON.stringify([
      { clientId: "oldoldold", message: "yesterday's", at: now - 25 * HOUR },
      { clientId: "recentxx", message: "recent", at: now - 23 * HOUR },
    ]));
    assert.deepEqual(new Outbox().pending().map((e) => e.message), ["recent"]);
  });

  test("malformed stored entries and unreadable storage are ignored", () => {
    const now = Date.now();
    storage.setItem(OUTBOX_KEY, JSON.stringify([
      null,
      "text",
      { clientId: 5, message: "id not a string", at: now },
      { clientId: "nomessage", at: now },
      { clientId: "noatxxxx", message: "no time" },
      { clientId: "stringat", message: "time as text", at: String(now) },
      { clientId: "goodgood", message: "kept", at: now },
    ]));
    assert.deepEqual(new Outbox().pending().map((e) => e.message), ["kept"]);
    for (const raw of ["{broken", '{"clientId": "x"}', "42"]) {
      storage.setItem(OUTBOX_KEY, raw);
      assert.deepEqual(new Outbox().pending(), [], raw);
    }
  });

  test("at most the 50 newest messages are kept in storage", () => {
    const box = new Outbox();
    const entries = [];
    for (let i = 0; i < 60; i += 1) entries.push(box.add(`m${i}`, "u"));
    const kept = stored();
    assert.equal(kept.length, 50);
    assert.deepEqual(kept.map((e) => e.clientId), entries.slice(10).map((e) => e.clientId));
    assert.equal(new Outbox().pending()[0].message, "m10");
  });

  test("done with an unknown id changes nothing and writes nothing", () => {
    const box = new Outbox();
    box.add("x", "u");
    const writes = storage.writes;
    box.done("not-an-id");
    assert.equal(storage.writes, writes);
    assert.equal(box.pending().length, 1);
  });

  test("clear drops every waiting message, in storage too (another person uses the browser)", () => {
    const box = new Outbox();
    box.add("private", "u");
    box.clear();
    assert.deepEqual(box.pending(), []);
    assert.deepEqual(new Outbox().pending(), []);
  });

  test("forgetPerson removes the stored outbox", () => {
    new Outbox().add("private", "u");
    forgetPerson();
    assert.equal(storage.getItem(OUTBOX_KEY), null);
    assert.deepEqual(new Outbox().pending(), []);
  });

  test("storage that throws (private mode, full quota): the outbox lasts for the page", () => {
    useStorage(new FakeStorage({ broken: true }));
    const box = new Outbox();
    const a = box.add("still sent", "u");
    assert.deepEqual(box.pending().map((e) => e.clientId), [a.clientId]);
    // Another Outbox on the same page (the widget re-created) finds it in memory.
    assert.deepEqual(new Outbox().pending().map((e) => e.clientId), [a.clientId]);

    useStorage(new FakeStorage({ quota: 10 }));
    assert.doesNotThrow(() => new Outbox().add("too big for the quota", "u"));
  });

  test("no window at all (not a browser): still works in memory", () => {
    delete globalThis.window;
    const box = new Outbox();
    box.add("m", "u");
    assert.equal(new Outbox().pending().length, 1);
  });
});
