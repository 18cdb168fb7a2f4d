// The front ends' generated protocol constants (widget/src/protocol.gen.js,
// console/src/protocol.gen.js): they match the Python protocol modules they are
// generated from, agree with each other where both name the same thing, and
// every value the console shows has a label.
import assert from "node:assert/strict";
import { test } from "node:test";

import * as agent from "../../console/src/protocol.gen.js";
import { REASON_LABELS, STATE_LABELS, STATUS_LABELS, VIEW_LABELS } from "../../console/src/format.js";
import * as visitor from "../../widget/src/protocol.gen.js";
import { python } from "./support/fakes.js";

const server = python(
  "import json\n" +
    "from chat_server.protocol import agent, visitor\n" +
    "from chat_server.protocol.js import constants\n" +
    "print(json.dumps({'agent': constants(agent), 'visitor': constants(visitor)}))"
);

test("the widget's constants are the server's visitor protocol", () => {
  assert.deepEqual({ ...visitor }, server.visitor);
});

test("the console's constants are the server's agent protocol", () => {
  assert.deepEqual({ ...agent }, server.agent);
});

test("a name both front ends use has the same value in both", () => {
  const shared = Object.keys(visitor).filter((name) => name in agent);
  assert.ok(shared.length >= 3, `shared names: ${shared}`); // ERROR, RESYNC, VISITOR_TYPING at least
  for (const name of shared) assert.deepEqual(agent[name], visitor[name], name);
});

test("the console's conversation states are the widget's STATE_* values", () => {
  const widgetStates = Object.entries(visitor)
    .filter(([name]) => name.startsWith("STATE_"))
    .map(([, value]) => value);
  assert.deepEqual([...agent.STATES].sort(), widgetStates.sort());
});

test("every state, status, view and handoff reason has a label in the console", () => {
  for (const state of agent.STATES) assert.ok(STATE_LABELS[state], `state ${state}`);
  for (const status of agent.STATUSES) assert.ok(STATUS_LABELS[status], `status ${status}`);
  for (const view of agent.VIEWS) assert.ok(VIEW_LABELS[view], `view ${view}`);
  const reasons = Object.entries(agent).filter(([name]) => name.startsWith("REASON_"));
  assert.ok(reasons.length > 0);
  for (const [name, reason] of reasons) assert.ok(REASON_LABELS[reason], `${name} = ${reason}`);
});
