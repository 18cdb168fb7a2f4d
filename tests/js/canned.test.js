// Unit tests of the canned-response preview (console/src/canned.js), and that it
// renders exactly as the server does (chat_server/protocol/canned.py).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { cannedValues, renderCanned } from "../../console/src/canned.js";
import { python } from "./support/fakes.js";

const ADA = { "contact.name": "Ada", "contact.email": "ada@example.com", "agent.name": "Sam" };
const NOBODY = { "contact.name": "", "contact.email": "", "agent.name": "" };

describe("cannedValues", () => {
  test("from the open conversation's visitor and the signed-in agent", () => {
    const conversation = { visitor: { name: "Ada", email: "ada@example.com" } };
    assert.deepEqual(cannedValues(conversation, { display_name: "Sam" }), ADA);
  });

  test("missing visitor, missing agent: empty values", () => {
    assert.deepEqual(cannedValues(null, null), NOBODY);
    assert.deepEqual(cannedValues({ visitor: null }, {}), NOBODY);
  });
});

describe("renderCanned", () => {
  test("each known variable takes its value", () => {
    assert.equal(
      renderCanned("Hi {{contact.name}}, I'm {{ agent.name }}. We'll write to {{contact.email}}.", ADA),
      "Hi Ada, I'm Sam. We'll write to ada@example.com."
    );
  });

  test("no value: the fallback, trimmed; a blank value counts as none", () => {
    assert.equal(renderCanned("Hi {{contact.name|there}}!", NOBODY), "Hi there!");
    assert.equal(renderCanned("Hi {{ contact.name | dear customer }}!", { ...NOBODY, "contact.name": "  " }), "Hi dear customer!");
    assert.equal(renderCanned("Hi {{contact.name|there}}!", ADA), "Hi Ada!");
    assert.equal(renderCanned("Dear {{contact.name| customer }}-team", NOBODY), "Dear customer-team");
    assert.equal(renderCanned("({{agent.name|\nus\t}})", NOBODY), "(us)");
  });

  test("no value and no fallback: nothing, and the gap is tidied", () => {
    assert.equal(renderCanned("Hi {{contact.name}}, welcome back !", NOBODY), "Hi, welcome back!");
    assert.equal(renderCanned("Thanks  {{agent.name}}", NOBODY), "Thanks");
    assert.equal(renderCanned("Hi {{contact.name}}", {}), "Hi");
  });

  test("unknown variables stay as written, and a text with nothing to render is untouched", () => {
    const text = "Order  {{order.id}} , ref {{contact.phone|none}} ";
    assert.equal(renderCanned(text, ADA), text);
    assert.equal(renderCanned("plain  text ,", ADA), "plain  text ,");
    assert.equal(renderCanned("{{constructor}} {{__proto__}}", ADA), "{{constructor}} {{__proto__}}");
    assert.equal(renderCanned("{{contact.name}} and {{order.id}}", ADA), "Ada and {{order.id}}");
  });

  test("hostile values stay text: no markup, no replacement patterns, no second pass", () => {
    const values = {
      "contact.name": "<img src=x onerror=alert(1)>",
      "contact.email": "$& $1 $` $'",
      "agent.name": "{{contact.name}}",
    };
    assert.equal(
      renderCanned("A {{contact.name}} B {{contact.email}} C {{agent.name}}", values),
      "A <img src=x onerror=alert(1)> B $& $1 $` $' C {{contact.name}}"
    );
  });
});

test("the preview renders exactly as the server will", () => {
  const texts = [
    "Hi {{contact.name}}, I'm {{agent.name}}.",
    "Hi {{contact.name|there}} !",
    "Hi {{ contact.name | there }}, mail: {{contact.email}} .",
    "{{agent.name}}",
    "  {{contact.name}}  ,  ok  ",
    "Order {{order.id}} for {{contact.name}}",
    "Order  {{order.id}}",
    "Tabs\t\t{{contact.email}}\t;",
    "a {{contact.name|x|y}} b",
    "no variables at all",
    "Dear {{contact.name| customer }}-team ({{agent.name|\nus\t}})",
  ];
  const valueSets = [ADA, NOBODY, { "contact.name": " <b>Bo</b> ", "contact.email": "$&", "agent.name": "{{agent.name}}" }];
  const cases = [];
  for (const text of texts) for (const values of valueSets) cases.push({ text, values });
  const server = python(
    "import json, sys\n" +
      "from chat_server.protocol.canned import render\n" +
      "print(json.dumps([render(c['text'], c['values']) for c in json.load(sys.stdin)]))",
    cases
  );
  assert.equal(server.length, cases.length);
  cases.forEach((c, i) => {
    assert.equal(renderCanned(c.text, c.values), server[i], JSON.stringify(c));
  });
});
