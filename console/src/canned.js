/**
 * Canned-response variables, as chat_server/protocol/canned.py renders them:
 * {{contact.name}}, {{contact.email}}, {{agent.name}}, each with an optional
 * fallback ({{contact.name|there}}). A variable with no value and no fallback
 * becomes nothing. The server renders again when the message is sent, so this
 * is the preview the agent sees before sending.
 */

const KNOWN = /\{\{\s*(contact\.name|contact\.email|agent\.name)\s*(?:\|([^{}|]*))?\}\}/g;

export function cannedValues(conversation, me) {
  const visitor = (conversation && conversation.visitor) || {};
  return {
    "contact.name": visitor.name || "",
    "contact.email": visitor.email || "",
    "agent.name": (me && me.display_name) || "",
  };
}

export function renderCanned(text, values) {
  if (!text.includes("{{")) return text;
  const rendered = text.replace(KNOWN, (_, name, fallback) =>
    (values[name] || "").trim() || (fallback || "").trim());
  if (rendered === text) return text;
  return rendered.replace(/[ \t]{2,}/g, " ").replace(/[ \t]+([,.!?;:])/g, "$1").trim();
}
