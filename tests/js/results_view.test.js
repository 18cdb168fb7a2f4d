// Unit tests of the results page's reading of GET /api/campaigns/{id}/results
// (console/src/results_view.js), on answers shaped as
// chat_server/services/experiments/results.py writes them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { resultArms, resultComparisons, resultSeries, srmChecks, verdictOf } from "../../console/src/results_view.js";

const est = (value, low, high) => ({ value, se: 0.01, low, high });
const ANSWER = {
  campaign_id: 3, name: "Tents", status: "running", mode: "sequential",
  arms: [
    { key: "A", weight: 0.45, assigned: 900, exposed: 880, conversions: 44, guardrails: { dismiss_rate: 0.1, csat_mean: null, csat_count: 0, handoffs: 2 } },
    { key: "control", weight: 0.1, assigned: 200, exposed: 190, conversions: 9, guardrails: {} },
  ],
  analysis: {
    decision: "winner:B", winner: "B", control: "control",
    arms: [
      { key: "control", rate: 9 / 190, rate_low: 0.025, rate_high: 0.088, enough_data: false },
      { key: "A", rate: 0.05, rate_low: 0.037, rate_high: 0.066, enough_data: true },
    ],
    comparisons: [{ arm: "A", control: "control", absolute: est(0.003, -0.03, 0.04), relative: null, p_value: 0.8, adjusted_p_value: 1, significant: false, direction: "none" }],
    srm: [{ counts: "assigned", statistic: 0.4, p_value: 0.5, flagged: false }],
  },
  series: [
    { date: "2026-12-01", arms: {}, comparisons: [{ arm: "A", absolute: null, relative: est(0.1, -0.5, 0.9) }] },
    { date: "2026-12-02", arms: {}, comparisons: [] },
  ],
};

describe("results", () => {
  test("arms keep the API's order and take the analysis' Wilson interval", () => {
    const arms = resultArms(ANSWER);
    assert.deepEqual(arms.map((a) => a.arm), ["A", "control"]);
    assert.deepEqual(arms[0].ci, [0.037, 0.066]);
    assert.equal(arms[1].rate, 9 / 190);
    assert.equal(arms[0].guardrails.handoffs, 2);
  });
  test("no analysis (no control): rates from the counts, no interval", () => {
    const arms = resultArms({ arms: [{ key: "A", weight: 1, assigned: 4, exposed: 4, conversions: 1 }], analysis: null });
    assert.equal(arms[0].rate, 0.25);
    assert.equal(arms[0].ci, null);
    assert.equal(verdictOf({ analysis: null }).kind, "no_control");
  });
  test("comparisons: an undefined relative estimate stays empty", () => {
    const [a] = resultComparisons(ANSWER);
    assert.deepEqual(a.absolute, { estimate: 0.003, ci: [-0.03, 0.04] });
    assert.deepEqual(a.relative, { estimate: null, ci: null });
    assert.equal(a.p_adjusted, 1);
  });
  test("the series is the relative uplift by day", () => {
    const s = resultSeries(ANSWER);
    assert.deepEqual(s.arms, ["A"]);
    assert.deepEqual(s.points[0], { at: "2026-12-01", arms: { A: { estimate: 0.1, low: -0.5, high: 0.9 } } });
    assert.deepEqual(s.points[1].arms, {});
    assert.equal(srmChecks(ANSWER).length, 1);
  });
  test("the verdict is the API's decision, worded", () => {
    const v = (decision, winner) => verdictOf({ analysis: { decision, winner } });
    assert.equal(v("winner:B", "B").title, "Winner: B");
    assert.equal(v("srm").title, "Sample ratio mismatch — results are not trustworthy");
    assert.equal(v("not_enough_data").title, "Not enough data yet");
    assert.equal(v("no_difference_yet").title, "No difference yet");
    assert.equal(v("control_better").kind, "control_better");
    assert.equal(v("").kind, "unknown");
  });
});
