// Unit tests of server timestamp parsing (console/src/time.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { toDate, toMs } from "../../console/src/time.js";

// Run in a zone that is not UTC, so reading a naive timestamp as local time would show.
process.env.TZ = "America/New_York";

const NOON_UTC = Date.UTC(2026, 5, 15, 12, 0, 0);

test("an ISO timestamp with a zone is read as written", () => {
  assert.equal(toMs("2026-06-15T12:00:00Z"), NOON_UTC);
  assert.equal(toMs("2026-06-15T12:00:00.000z"), NOON_UTC);
  assert.equal(toMs("2026-06-15T14:00:00+02:00"), NOON_UTC);
  assert.equal(toMs("2026-06-15T07:30:00-0430"), NOON_UTC);
});

test("a naive timestamp (no zone) is UTC, never local time", () => {
  // Whatever zone the tests run in, the result must not move with it.
  assert.equal(toMs("2026-06-15T12:00:00"), NOON_UTC);
  assert.equal(toMs("2026-06-15T12:00:00.250"), NOON_UTC + 250);
  assert.equal(toMs("2026-06-15T12:00:00.123456"), NOON_UTC + 123);
});

test("a date alone is midnight UTC", () => {
  assert.equal(toMs("2026-06-15"), Date.UTC(2026, 5, 15));
});

test("anything else is 0 (and toDate null)", () => {
  for (const bad of [null, undefined, "", "soon", "2026-13-45T99:00:00", 1718452800000, {}, []]) {
    assert.equal(toMs(bad), 0, String(bad));
    assert.equal(toDate(bad), null);
  }
});

test("toDate gives the same instant", () => {
  const d = toDate("2026-06-15T12:00:00");
  assert.ok(d instanceof Date);
  assert.equal(d.getTime(), NOON_UTC);
});
