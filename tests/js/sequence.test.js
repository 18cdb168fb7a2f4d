// widget/src/sequence.js (shared by the widget and the console), node --test.
// The position is the highest number up to which every message is held: one's
// own messages and messages that overtook others never move it past a hole.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Position } from "../../widget/src/sequence.js";

const NEW = { fresh: true, gap: false };

test("in-order messages move the position", () => {
  const p = new Position();
  assert.deepEqual([1, 2, 3].map((n) => p.offer(n)), [NEW, NEW, NEW]);
  assert.equal(p.value, 3);
  assert.equal(p.gap, false);
});

test("a message that skips ahead is held and reports the gap", () => {
  const p = new Position(2);
  assert.deepEqual(p.offer(5), { fresh: true, gap: true });
  assert.deepEqual(p.offer(5), { fresh: false, gap: true }); // already held: not shown twice
  assert.deepEqual(p.offer(3), { fresh: true, gap: true });
  assert.deepEqual(p.offer(4), NEW);
  assert.equal(p.value, 5);
  assert.deepEqual(p.held, []);
});

test("one's own sent message never hides an unseen one", () => {
  // Held up to 7; 8 (a reply) never arrived; our own message is 9.
  const p = new Position(7);
  assert.deepEqual(p.offer(9), { fresh: true, gap: true });
  assert.equal(p.value, 7);
  assert.deepEqual(p.held, [9]);
});

test("a catch-up covers its range only from the position", () => {
  const p = new Position(3);
  p.offer(9);
  p.covered(5, 8); // starts above the position: would leave 4 and 5 out
  assert.equal(p.value, 3);
  p.covered(3, 7); // 4..7 now held; 9 was held, 8 still missing
  assert.equal(p.value, 7);
  assert.deepEqual(p.held, [9]);
  p.covered(7, 8);
  assert.equal(p.value, 9);
  assert.deepEqual(p.held, []);
});

test("duplicates below the position, unnumbered messages, reset", () => {
  const p = new Position(4);
  assert.deepEqual(p.offer(2), { fresh: false, gap: false });
  assert.deepEqual(p.offer(undefined), NEW); // a server without seq: always shown
  p.offer(7);
  p.reset();
  assert.equal(p.value, 0);
  assert.deepEqual(p.held, []);
  p.reset(6);
  assert.equal(p.value, 6);
});
