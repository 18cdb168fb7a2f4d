/**
 * Pure reading of GET /api/campaigns/{id}/results for the results page
 * (chat_server/services/experiments/results.py): the arms with their Wilson
 * intervals, the comparisons with control, the series over time, the
 * guardrails and the verdict. The verdict is the API's `analysis.decision`
 * (a "winner" only when the server says so); this module only words it.
 * Unit tests: tests/js/results_view.test.js.
 */

const byKey = (list) => Object.fromEntries((list || []).map((a) => [a.key, a]));

/** The arms in the API's order, with the analysis' rate and interval when there is one. */
export function resultArms(data) {
  const analysed = byKey(data.analysis && data.analysis.arms);
  return (data.arms || []).map((a) => {
    const row = analysed[a.key] || {};
    const rate = row.rate ?? (a.exposed ? a.conversions / a.exposed : null);
    const ci = row.rate_low !== undefined && row.rate_low !== null && row.rate_high !== null ? [row.rate_low, row.rate_high] : null;
    return {
      arm: a.key, weight: a.weight, assigned: a.assigned, exposed: a.exposed, conversions: a.conversions,
      rate, ci, enough: row.enough_data, guardrails: a.guardrails || {},
    };
  });
}

const estimate = (e) => (e ? { estimate: e.value, ci: e.low !== null && e.high !== null ? [e.low, e.high] : null } : { estimate: null, ci: null });

export function resultComparisons(data) {
  const comparisons = (data.analysis && data.analysis.comparisons) || [];
  return comparisons.map((c) => ({
    arm: c.arm,
    absolute: estimate(c.absolute),
    relative: estimate(c.relative),
    p: c.p_value,
    p_adjusted: c.adjusted_p_value,
    significant: !!c.significant,
    direction: c.direction,
  }));
}

/** {arms: [...], points: [{at, arms: {B: {estimate, low, high}}}]}: relative uplift by day. */
export function resultSeries(data) {
  const arms = new Set();
  const points = (data.series || []).map((p) => {
    const out = {};
    for (const c of p.comparisons || []) {
      arms.add(c.arm);
      const r = c.relative || {};
      out[c.arm] = { estimate: r.value ?? null, low: r.low ?? null, high: r.high ?? null };
    }
    return { at: p.date, arms: out };
  });
  return { arms: [...arms], points };
}

/** The sample ratio checks (on assigned and on exposed counts). */
export function srmChecks(data) {
  return (data.analysis && data.analysis.srm) || [];
}

const WORDS = {
  not_enough_data: ["Not enough data yet", "Each arm needs more exposed visitors and conversions before the figures mean anything."],
  srm: ["Sample ratio mismatch — results are not trustworthy", "The arms did not get the shares they were given: find out why before reading anything else."],
  no_difference_yet: ["No difference yet", "Every interval still includes zero. Keep the campaign running, or stop if the planned sample is reached."],
  control_better: ["Control does better", "Showing the opener lowers the goal rate: consider ending the campaign."],
  no_control: ["No control group", "With a holdout of 0 % there is nothing to compare with."],
};

/** The API's decision as {kind, title, detail}. */
export function verdictOf(data) {
  const analysis = data.analysis;
  if (!analysis) return { kind: "no_control", title: WORDS.no_control[0], detail: WORDS.no_control[1] };
  const decision = String(analysis.decision || "");
  if (decision.startsWith("winner")) {
    const winner = analysis.winner || decision.split(":")[1] || "";
    return { kind: "winner", title: `Winner: ${winner}`, detail: "Its uplift interval (absolute) excludes zero and the sample ratio check passes." };
  }
  const words = WORDS[decision];
  if (!words) return { kind: "unknown", title: decision || "Results", detail: "" };
  return { kind: decision, title: words[0], detail: words[1] };
}
