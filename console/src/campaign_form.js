/**
 * Pure helpers of the campaign and segment editors (no DOM, no requests):
 * the editor's form ↔ the REST payload (docs/campaigns.md), the traffic split
 * text, validation messages by field, and the segment condition builder's
 * operator and value rules. Unit tests: tests/js/campaign_form.test.js.
 */

export const KINDS = { bot: "Bot opener", agent: "Message from an agent", nps: "NPS survey" };
export const STATUSES = ["draft", "scheduled", "running", "paused", "ended", "archived"];
export const GOAL_TYPES = { conversion: "Conversion", reply: "Reply to the opener", handoff: "Handoff to a person", csat: "CSAT given", nps: "NPS given" };
export const DEVICES = ["desktop", "mobile", "tablet"];
export const ARM_KEYS = ["A", "B", "C", "D", "E"];

/** Which lifecycle actions a campaign in `status` offers (the server decides; this only hides buttons). */
export const ACTIONS = {
  draft: ["start", "archive"],
  scheduled: ["pause", "end", "versions", "archive"],
  running: ["pause", "end", "versions", "archive"],
  paused: ["start", "end", "versions", "archive"],
  ended: ["archive", "versions"],
  archived: [],
};

/** A campaign that has left draft keeps its experiment (arms, shares, goal, kind): a change is a new version. */
export const allocationLocked = (status) => !!status && status !== "draft";

/** What a campaign that has left draft may still change (campaigns/service.py LIVE_EDITABLE). */
export const LIVE_EDITABLE = ["name", "priority", "rules", "variants"];

/** The PATCH body for a campaign in `status`: everything for a draft, the live-editable fields after. */
export function patchFor(status, body) {
  if (!allocationLocked(status)) return body;
  return Object.fromEntries(Object.entries(body).filter(([key]) => LIVE_EDITABLE.includes(key)));
}

export const emptyContent = () => ({ text: "", question: "", quick_replies: [], buttons: [], products: false, followup: "" });

export function emptyRules() {
  return {
    url_include: [], url_exclude: [], url_regex: "", active_seconds: "", scroll_percent: "", exit_intent: false,
    idle_seconds: "", site_trigger: "", visits_min: "", visits_max: "", visitor: "any", days_since_last_visit_min: "",
    days_since_last_visit_max: "", utm_source: [], utm_medium: [], utm_campaign: [], referrer_host: [], segment_id: null,
    business_hours_only: false, require_agent_capacity: false, devices: [], languages: [], starts_at: "", ends_at: "",
  };
}

export function emptyCampaign() {
  return {
    name: "", kind: "bot", priority: 0, holdout: 0.1,
    variants: [{ key: "A", weight: 1, content: emptyContent() }],
    rules: emptyRules(), agent_id: null, per_visitor_cap: 1, cooldown_hours: 72,
    goal: { type: "conversion", name: "", window_hours: 72 },
  };
}

const round = (x, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Even weights for `n` variants. A variant's weight is its share of the
 * treated traffic (the weights add up to 1); the holdout is set apart first.
 */
export function evenWeights(n) {
  if (n <= 0) return [];
  const each = round(1 / n);
  const weights = Array.from({ length: n }, () => each);
  weights[n - 1] = round(1 - each * (n - 1));
  return weights;
}

const pctText = (x) => `${round(x * 100, 1)} %`;

/** "control 10 % · A 45 % · B 45 %": each arm's share of all traffic. */
export function splitText(variants, holdout) {
  const parts = [];
  if (holdout > 0) parts.push(`control ${pctText(holdout)}`);
  for (const v of variants) parts.push(`${v.key} ${pctText((Number(v.weight) || 0) * (1 - holdout))}`);
  return parts.join(" · ");
}

/** What is wrong with an allocation, or "" (the server checks it again). */
export function allocationProblem(variants, holdout) {
  if (!variants.length) return "Add at least one variant.";
  if (!(holdout >= 0 && holdout <= 0.9)) return "The holdout share must be between 0 % and 90 %.";
  if (variants.some((v) => !(Number(v.weight) > 0))) return "Every variant needs a share above 0 %.";
  const total = variants.reduce((sum, v) => sum + Number(v.weight), 0);
  if (Math.abs(total - 1) > 0.0005) return `The variants' weights add up to ${pctText(total)}, not 100 %.`;
  return "";
}

const num = (v) => (v === "" || v === null || v === undefined ? null : Number(v));
const list = (text) => (Array.isArray(text) ? text : String(text || "").split(/\n|,/)).map((s) => s.trim()).filter(Boolean);
const dateOut = (v) => (v ? new Date(v).toISOString() : null);
/** An ISO date as the value of an <input type="datetime-local"> (local time). */
export function dateIn(v) {
  if (!v) return "";
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function contentOut(c, kind) {
  if (kind === "nps") return { question: (c.question || c.text || "").trim() };
  const out = { text: c.text || "" };
  const replies = list(c.quick_replies);
  if (replies.length) out.quick_replies = replies;
  const buttons = (c.buttons || []).filter((b) => b.title && b.title.trim());
  if (buttons.length) out.buttons = buttons.map((b) => ({ title: b.title.trim(), payload: (b.payload || b.title).trim() }));
  if (c.products) out.products = true;
  if (c.followup && c.followup.trim()) out.followup = c.followup.trim();
  return out;
}

function rulesOut(r) {
  const out = {};
  for (const key of ["url_include", "url_exclude", "languages", "devices", "utm_source", "utm_medium", "utm_campaign", "referrer_host"]) {
    const values = list(r[key]);
    if (values.length) out[key] = values;
  }
  for (const key of ["url_regex", "site_trigger"]) if (r[key] && String(r[key]).trim()) out[key] = String(r[key]).trim();
  for (const key of ["active_seconds", "scroll_percent", "idle_seconds", "visits_min", "visits_max", "days_since_last_visit_min", "days_since_last_visit_max"]) {
    if (num(r[key]) !== null) out[key] = num(r[key]);
  }
  for (const key of ["exit_intent", "business_hours_only", "require_agent_capacity"]) if (r[key]) out[key] = true;
  if (r.visitor === "new" || r.visitor === "returning") out.visitor = r.visitor;
  if (r.segment_id) out.segment_id = Number(r.segment_id);
  if (r.starts_at) out.starts_at = dateOut(r.starts_at);
  if (r.ends_at) out.ends_at = dateOut(r.ends_at);
  return out;
}

/** The REST body for a campaign form (CampaignDraft: unknown keys are refused). */
export function toPayload(form) {
  const goal = { type: form.goal.type, window_hours: Number(form.goal.window_hours) || 0 };
  if (form.goal.type === "conversion" && form.goal.name && form.goal.name.trim()) goal.name = form.goal.name.trim();
  const body = {
    name: form.name.trim(),
    kind: form.kind,
    priority: Number(form.priority) || 0,
    holdout: Number(form.holdout),
    variants: form.variants.map((v) => ({ key: v.key, weight: Number(v.weight), content: contentOut(v.content, form.kind) })),
    rules: rulesOut(form.rules),
    goal,
  };
  if (num(form.per_visitor_cap) !== null) body.per_visitor_cap = num(form.per_visitor_cap);
  if (num(form.cooldown_hours) !== null) body.cooldown_hours = num(form.cooldown_hours);
  if (form.kind === "agent" && form.agent_id) body.agent_id = Number(form.agent_id);
  return body;
}

/** A campaign from the API as an editor form. */
export function fromCampaign(c) {
  const base = emptyCampaign();
  const rules = { ...emptyRules(), ...(c.rules || {}) };
  for (const key of Object.keys(rules)) if (rules[key] === null || rules[key] === undefined) rules[key] = emptyRules()[key];
  rules.starts_at = dateIn(rules.starts_at);
  rules.ends_at = dateIn(rules.ends_at);
  return {
    ...base,
    name: c.name || "", kind: c.kind || "bot", priority: c.priority ?? 0, agent_id: c.agent_id ?? null,
    per_visitor_cap: c.per_visitor_cap ?? base.per_visitor_cap, cooldown_hours: c.cooldown_hours ?? base.cooldown_hours,
    rules,
    variants: (c.variants || []).map((v) => ({ key: v.key, weight: v.weight, content: { ...emptyContent(), ...(v.content || {}) } })),
    holdout: typeof c.holdout === "number" ? c.holdout : base.holdout,
    goal: { ...base.goal, ...(c.goal || {}), name: (c.goal && c.goal.name) || "" },
  };
}

/**
 * Validation messages by field from an answer of the server: accepts
 * `{errors: [{field|path|loc, message}]}`, `{errors: {field: message}}`,
 * `{fields: {...}}` or a plain `{error, message}` (under "" then).
 */
export function fieldErrors(data) {
  const out = {};
  if (!data || typeof data !== "object") return out;
  const add = (field, message) => {
    let key = Array.isArray(field) ? field.join(".") : String(field || "");
    if (key === "body" || key === "__root__") key = "";
    out[key] = out[key] ? `${out[key]} ${message}` : String(message);
  };
  const source = data.errors || data.fields || data.messages;
  if (Array.isArray(source)) {
    for (const e of source) {
      if (typeof e === "string") add("", e);
      else if (e && typeof e === "object") add(e.field ?? e.path ?? e.loc ?? "", e.message || e.msg || e.error || "");
    }
  } else if (source && typeof source === "object") {
    for (const [field, message] of Object.entries(source)) add(field, Array.isArray(message) ? message.join(" ") : message);
  }
  if (!Object.keys(out).length && typeof data.message === "string" && data.ok !== true && data.valid !== true) {
    // "filter.conditions.1: value of visits gte must be at least 0; name: ...": one message per place.
    for (const part of data.message.split(/; (?=[A-Za-z_][\w]*(?:\.[\w]+)*: )/)) {
      const m = /^([A-Za-z_]\w*(?:\.\w+)*): ([\s\S]*)$/.exec(part);
      if (m) add(m[1], m[2]);
      else add(data.field || "", part);
    }
  }
  return out;
}

/** The messages for `field` and everything under it ("rules" gets "rules.url_include.0" too). */
export function errorsUnder(errors, field) {
  return Object.entries(errors)
    .filter(([key]) => key === field || key.startsWith(`${field}.`) || key.startsWith(`${field}[`))
    .map(([, message]) => message)
    .join(" ");
}

// ---- Segments ------------------------------------------------------------------------------

export const OPERATOR_LABELS = {
  eq: "is", ne: "is not", gt: "more than", gte: "at least", lt: "less than", lte: "at most",
  in: "is one of", not_in: "is none of", contains: "contains", exists: "is set", not_exists: "is not set",
  between: "between", after: "after", is: "is", starts_with: "starts with", is_set: "is set", is_not_set: "is not set",
  within: "within the last … days", before: "more than … days ago", within_days: "within the last … days",
  older_than_days: "more than … days ago", is_true: "is yes", is_false: "is no", has: "has", not_has: "does not have",
  has_any: "has any of", has_none: "has none of",
};

const NO_VALUE = new Set(["exists", "not_exists", "is_true", "is_false", "is_set", "is_not_set"]);
const LIST_OPS = new Set(["in", "not_in", "has_any", "has_none"]);

/** The field registry entry's operators (`operators` or `ops`). */
export const operatorsOf = (field) => (field && (field.operators || field.ops)) || ["eq"];

/** How the value of a condition is entered: none | number | date | boolean | select | multi | list | text. */
export function inputKind(field, op) {
  if (!field || NO_VALUE.has(op)) return "none";
  const type = field.type || "string";
  const choices = field.values || field.choices || field.options;
  if (type === "days_ago" || op === "within_days" || op === "older_than_days") return "number";
  if (LIST_OPS.has(op)) return choices && choices.length ? "multi" : "list";
  if (type === "bool" || type === "boolean") return "boolean";
  if (choices && choices.length) return "select";
  if (type === "int" || type === "integer" || type === "number" || type === "float") return "number";
  if (type === "date" || type === "datetime") return "date";
  return "text";
}

/** The value to send for the raw input `raw` of a condition. */
export function coerceValue(field, op, raw) {
  const kind = inputKind(field, op);
  if (kind === "none") return null;
  if (kind === "number") return raw === "" || raw === null || raw === undefined ? null : Number(raw);
  if (kind === "boolean") return raw === true || raw === "true";
  if (kind === "list") return list(raw);
  if (kind === "multi") return Array.isArray(raw) ? raw : list(raw);
  return raw;
}

export function emptyCondition(fields) {
  const field = fields[0];
  return { field: field ? field.name : "", op: operatorsOf(field)[0], value: "" };
}

/** The filter the API stores: {match: all|any, conditions: [{field, op, value}]}. */
export function toFilter(match, conditions, fields) {
  const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
  return {
    match,
    conditions: conditions.map((c) => {
      const field = byName[c.field];
      const value = coerceValue(field, c.op, c.value);
      return value === null && inputKind(field, c.op) === "none" ? { field: c.field, op: c.op } : { field: c.field, op: c.op, value };
    }),
  };
}

/** The preview page's address for a variant's content (the server escapes what it shows). */
export function previewUrl(kind, content) {
  const c = content || {};
  const body = { kind, text: c.text || "", quick_replies: list(c.quick_replies), buttons: (c.buttons || []).filter((b) => b.title).map((b) => b.title), products: !!c.products };
  return `/campaigns/preview?c=${encodeURIComponent(JSON.stringify(body))}`;
}
