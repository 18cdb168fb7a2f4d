// Unit tests of URL checks for message payloads (widget/src/urls.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { safeUrl } from "../../widget/src/urls.js";

const ORIGIN = "https://chat.example.com";

test("http(s) URLs are kept, normalised", () => {
  assert.equal(safeUrl("https://shop.example/p?id=1#x", ORIGIN), "https://shop.example/p?id=1#x");
  assert.equal(safeUrl("  HTTP://Shop.Example/a b ", ORIGIN), "http://shop.example/a%20b");
});

test("relative paths resolve against the chat server, not the host page", () => {
  assert.equal(safeUrl("/static/products/tents.svg", ORIGIN), "https://chat.example.com/static/products/tents.svg");
  assert.equal(safeUrl("img/a.png", `${ORIGIN}/widget/`), "https://chat.example.com/widget/img/a.png");
  assert.equal(safeUrl("//cdn.example/x.png", ORIGIN), "https://cdn.example/x.png");
});

test("script and data URLs never come through, however they are spelled", () => {
  const hostile = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "  javascript:alert(1)",
    "java\nscript:alert(1)",
    "java\tscript:alert(1)",
    "\u0000javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "blob:https://chat.example.com/uuid",
    "ftp://files.example/x",
  ];
  for (const value of hostile) assert.equal(safeUrl(value, ORIGIN), null, JSON.stringify(value));
});

test("not a URL: null", () => {
  for (const value of [null, undefined, "", "   ", 42, {}, ["https://x.example"], "https://"]) {
    assert.equal(safeUrl(value, ORIGIN), null, JSON.stringify(value));
  }
  assert.equal(safeUrl("/relative", undefined), null); // nothing to resolve against
  assert.equal(safeUrl("/relative", "not an origin"), null);
});
