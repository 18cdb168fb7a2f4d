// Unit tests of the inbox keyboard shortcuts (console/src/shortcuts.js).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { isTextField, neighbour, SHORTCUTS, shortcutFor } from "../../console/src/shortcuts.js";

const key = (k, mods = {}) => ({ key: k, altKey: false, ctrlKey: false, metaKey: false, shiftKey: false, ...mods });

describe("shortcutFor", () => {
  test("plain keys", () => {
    const expected = { j: "next", k: "previous", r: "reply", n: "note", a: "accept", e: "resolve", u: "undo" };
    for (const [k, action] of Object.entries(expected)) assert.equal(shortcutFor(key(k)), action, k);
  });

  test("? is typed with Shift and still opens the help", () => {
    assert.equal(shortcutFor(key("?", { shiftKey: true })), "help");
  });

  test("Shift with a letter is another key", () => {
    assert.equal(shortcutFor(key("J", { shiftKey: true })), null);
    assert.equal(shortcutFor(key("E", { shiftKey: true })), null);
  });

  test("Ctrl and Meta (⌘) never fire a shortcut: the browser's own keys win", () => {
    for (const mods of [{ ctrlKey: true }, { metaKey: true }]) {
      for (const k of ["j", "k", "r", "e", "?", "ArrowDown", "Escape"]) {
        assert.equal(shortcutFor(key(k, mods)), null, `${JSON.stringify(mods)} ${k}`);
        assert.equal(shortcutFor(key(k, mods), { typing: true }), null, `typing ${JSON.stringify(mods)} ${k}`);
      }
    }
  });

  test("Alt+↓ / Alt+↑ move through the list, outside text fields only", () => {
    assert.equal(shortcutFor(key("ArrowDown", { altKey: true })), "next");
    assert.equal(shortcutFor(key("ArrowUp", { altKey: true })), "previous");
    assert.equal(shortcutFor(key("ArrowDown", { altKey: true }), { typing: true }), null);
    assert.equal(shortcutFor(key("ArrowDown", { altKey: true, shiftKey: true })), null);
    assert.equal(shortcutFor(key("j", { altKey: true })), null);
    assert.equal(shortcutFor(key("ArrowDown")), null);
  });

  test("typing in a field: letters are text, only a bare Escape leaves the field", () => {
    for (const k of ["j", "k", "r", "n", "a", "e", "u"]) assert.equal(shortcutFor(key(k), { typing: true }), null, k);
    assert.equal(shortcutFor(key("?", { shiftKey: true }), { typing: true }), null);
    assert.equal(shortcutFor(key("Escape"), { typing: true }), "leave");
    assert.equal(shortcutFor(key("Escape", { shiftKey: true }), { typing: true }), null);
    assert.equal(shortcutFor(key("Escape", { altKey: true }), { typing: true }), null);
  });

  test("Escape outside a field is not ours (dialogs and menus use it)", () => {
    assert.equal(shortcutFor(key("Escape")), null);
  });

  test("nothing fires during IME composition, after preventDefault or under a dialog", () => {
    assert.equal(shortcutFor({ ...key("j"), isComposing: true }), null);
    assert.equal(shortcutFor({ ...key("Escape"), isComposing: true }, { typing: true }), null);
    assert.equal(shortcutFor({ ...key("j"), defaultPrevented: true }), null);
    assert.equal(shortcutFor(key("j"), { dialogOpen: true }), null);
    assert.equal(shortcutFor(key("Escape"), { typing: true, dialogOpen: true }), null);
    assert.equal(shortcutFor(null), null);
  });

  test("keys that are not shortcuts, including inherited property names", () => {
    for (const k of ["x", "Enter", " ", "toString", "constructor", "__proto__", "hasOwnProperty"]) {
      assert.equal(shortcutFor(key(k)), null, k);
    }
  });

  test("the help table lists every action shortcutFor can return", () => {
    const listed = new Set(SHORTCUTS.map((s) => s.action));
    const produced = new Set();
    for (const k of "abcdefghijklmnopqrstuvwxyz?".split("")) produced.add(shortcutFor(key(k, { shiftKey: k === "?" })));
    for (const k of ["ArrowDown", "ArrowUp"]) produced.add(shortcutFor(key(k, { altKey: true })));
    produced.add(shortcutFor(key("Escape"), { typing: true }));
    produced.delete(null);
    assert.deepEqual([...produced].sort(), [...listed].sort());
  });
});

describe("isTextField", () => {
  test("text inputs, textareas, selects and editable content", () => {
    assert.equal(isTextField({ tagName: "TEXTAREA" }), true);
    assert.equal(isTextField({ tagName: "select" }), true);
    assert.equal(isTextField({ tagName: "INPUT" }), true); // no type: text
    for (const type of ["text", "search", "email", "password", "number", "URL"]) {
      assert.equal(isTextField({ tagName: "INPUT", type }), true, type);
    }
    assert.equal(isTextField({ tagName: "DIV", isContentEditable: true }), true);
  });

  test("buttons, checkboxes and the page itself are not", () => {
    for (const type of ["button", "checkbox", "radio", "submit", "reset", "range", "color", "file", "image", "CHECKBOX"]) {
      assert.equal(isTextField({ tagName: "INPUT", type }), false, type);
    }
    assert.equal(isTextField({ tagName: "BUTTON" }), false);
    assert.equal(isTextField({ tagName: "BODY", isContentEditable: false }), false);
    assert.equal(isTextField(null), false);
    assert.equal(isTextField("INPUT"), false);
  });
});

describe("neighbour", () => {
  const ids = [10, 20, 30];

  test("next and previous, stopping at the ends", () => {
    assert.equal(neighbour(ids, 20, 1), 30);
    assert.equal(neighbour(ids, 20, -1), 10);
    assert.equal(neighbour(ids, 30, 1), null);
    assert.equal(neighbour(ids, 10, -1), null);
  });

  test("nothing open (or the open one not in the list): the first", () => {
    assert.equal(neighbour(ids, null, 1), 10);
    assert.equal(neighbour(ids, 99, -1), 10);
    assert.equal(neighbour([], 10, 1), null);
  });
});
