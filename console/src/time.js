/**
 * Server timestamps are ISO 8601 in UTC. A timestamp without a zone (a naive
 * datetime serialised as is) is read as UTC too, never as local time.
 */

const HAS_ZONE = /(?:[zZ]|[+-]\d\d:?\d\d)$/;

export function toMs(value) {
  if (typeof value !== "string" || !value) return 0;
  const text = HAS_ZONE.test(value) || !value.includes("T") ? value : `${value}Z`;
  const t = Date.parse(text);
  return Number.isFinite(t) ? t : 0;
}

export function toDate(value) {
  const t = toMs(value);
  return t ? new Date(t) : null;
}
