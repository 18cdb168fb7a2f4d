/** Labels and formatting shared by the components (plain text only). */

import { toDate } from "./time.js";

export const VIEW_LABELS = {
  mine: "Mine",
  queue: "Queue",
  bot: "Bot",
  open: "All open",
  resolved: "Resolved",
  followups: "Follow-ups",
};

export const STATE_LABELS = {
  bot: "With the bot",
  queued: "Waiting in queue",
  assigned: "Assigned",
  resolved: "Resolved",
};

export const REASON_LABELS = {
  requested: "Visitor asked for a person",
  complaint: "Complaint",
  fallback: "The bot did not understand twice",
  bot_unavailable: "The bot was unavailable",
  barge_in: "An agent joined",
  agent_disconnected: "The previous agent disconnected",
  transfer: "Transferred",
  nobody_online: "Nobody was online",
  visitor_left: "The visitor left the queue",
};

export const STATUS_LABELS = { online: "Online", away: "Away", offline: "Offline" };

export function visitorName(visitor, visitorId) {
  if (visitor && typeof visitor.name === "string" && visitor.name.trim()) return visitor.name.trim();
  const vid = (visitor && visitor.id) || visitorId || "";
  return vid ? `Visitor ${String(vid).slice(0, 6)}` : "Visitor";
}

export function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
  if (!parts.length) return "?";
  if (parts[0] === "Visitor") return "V";
  return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

const parse = toDate;

export function clock(value) {
  const d = parse(value);
  return d ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
}

/** "14:05" today, "Tue 14:05" this week, "3 Mar" before. */
export function when(value, now) {
  const d = parse(value);
  if (!d) return "";
  const n = new Date(now || Date.now());
  if (d.toDateString() === n.toDateString()) return clock(value);
  if (n - d < 6 * 86400000) return `${d.toLocaleDateString([], { weekday: "short" })} ${clock(value)}`;
  return d.toLocaleDateString([], { day: "numeric", month: "short", year: d.getFullYear() === n.getFullYear() ? undefined : "numeric" });
}

export function fullDate(value) {
  const d = parse(value);
  return d ? d.toLocaleString() : "";
}

/** "just now", "4 min", "2 h", "3 d". */
export function ago(value, now) {
  const d = parse(value);
  if (!d) return "";
  const s = Math.max(0, Math.round(((now || Date.now()) - d) / 1000));
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export function confidence(value) {
  const n = Number(value);
  return Number.isFinite(n) ? n.toFixed(2) : "";
}

export function humanize(key) {
  const text = String(key).replace(/[_-]+/g, " ").trim();
  return text ? text[0].toUpperCase() + text.slice(1) : "";
}

/** A profile slot value as short text. */
export function slotText(value) {
  if (value === null || value === undefined || value === "") return "";
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (Array.isArray(value)) return value.map(slotText).filter(Boolean).join(", ");
  if (typeof value === "object") {
    try {
      return JSON.stringify(value);
    } catch (_) {
      return "";
    }
  }
  return String(value);
}

export function agentName(agent, me) {
  if (!agent) return "";
  if (me && agent.id === me.id) return "You";
  return agent.display_name || agent.username || `Agent ${agent.id}`;
}

/**
 * One line of preview for a conversation's last message. Its author is
 * `last_message.agent` ({id, display_name} or null); from a server that does
 * not send it, an agent message is attributed to the conversation's agent.
 */
export function preview(message, me, conversation) {
  if (!message) return "";
  const text = typeof message.text === "string" && message.text ? message.text : payloadSummary(message.payload);
  const author = message.agent !== undefined ? message.agent : conversation && conversation.assigned_agent;
  const who = { bot: "Bot: ", agent: author && me && author.id === me.id ? "You: " : "Agent: ", note: "Note: " }[message.direction] || "";
  return who + text;
}

/** Text for a bot message without text (cards, buttons). */
export function payloadSummary(payload) {
  if (!payload || typeof payload !== "object") return "";
  const custom = payload.custom && typeof payload.custom === "object" ? payload.custom : null;
  if (custom && Array.isArray(custom.products)) return `${custom.products.length} product card(s)`;
  if (Array.isArray(payload.buttons) || Array.isArray(payload.quick_replies)) return "Suggested replies";
  if (payload.attachment) return "Attachment";
  return "";
}

/** What a finished "Load more" announces to screen readers. */
export function loadedText(added, shown, more, noun) {
  const what = `Loaded ${added} more ${noun}; ${shown} shown`;
  return more ? `${what}. More can be loaded.` : `${what}, all there are.`;
}
