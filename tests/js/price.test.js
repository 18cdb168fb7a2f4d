// Unit tests of product prices: the console transcript's (console/src/price.js)
// and the widget's product cards' (widget/src/render.js), which must agree.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";

import { formatPrice as consolePrice } from "../../console/src/price.js";
import { formatPrice as widgetPrice } from "../../widget/src/render.js";

const had = Object.getOwnPropertyDescriptor(globalThis, "navigator");

function browserLanguage(language) {
  Object.defineProperty(globalThis, "navigator", { value: { language }, configurable: true, writable: true });
}

afterEach(() => {
  if (had) Object.defineProperty(globalThis, "navigator", had);
  else delete globalThis.navigator;
});

for (const [where, formatPrice] of [["console", consolePrice], ["widget", widgetPrice]]) {
  describe(`formatPrice (${where})`, () => {
    test("in the browser's language, USD by default", () => {
      browserLanguage("en-US");
      assert.equal(formatPrice(12.5), "$12.50");
      assert.equal(formatPrice("1234.5", "usd"), "$1,234.50");
      assert.equal(formatPrice(3, "EUR"), "€3.00");
      browserLanguage("de-DE");
      assert.equal(formatPrice(12.5, "EUR"), "12,50\u00a0€");
    });

    test("a currency that is not a three-letter code is USD", () => {
      browserLanguage("en-US");
      for (const currency of ["", "EURO", "E1R", null, 978, "<b>"]) {
        assert.equal(formatPrice(5, currency), "$5.00", String(currency));
      }
    });

    test("no amount, no price", () => {
      browserLanguage("en-US");
      for (const amount of ["free", NaN, Infinity, undefined, {}]) assert.equal(formatPrice(amount, "USD"), "", String(amount));
    });

    test("without navigator (or a broken locale): a plain amount and code", () => {
      delete globalThis.navigator;
      assert.equal(formatPrice(7, "gbp"), "7.00 GBP");
      browserLanguage("not a locale!");
      assert.equal(formatPrice(7, "gbp"), "7.00 GBP");
    });
  });
}
