// Generated from chat_server.protocol.visitor by `python -m chat_server.protocol.js`.
// Do not edit: change the Python module and regenerate.
export const AGENT_TYPING = "agent_typing";
export const BOT_UTTERED = "bot_uttered";
export const CARD_CLICKED = "card_clicked";
export const CONTROL_KEYS = ["handoff", "fallback", "privacy"];
export const CSAT_RECORDED = "csat_recorded";
export const CSAT_REQUEST = "csat_request";
export const CSAT_SUBMITTED = "csat_submitted";
export const EMPTY_MESSAGE = "empty_message";
export const ERROR = "error";
export const HANDOFF_STATUS = "handoff_status";
export const HISTORY = "history";
export const IDENTITY_REJECTED = "identity_rejected";
export const INVALID_PAYLOAD = "invalid_payload";
export const INVALID_SESSION = "invalid_session";
export const MESSAGE_TOO_LONG = "message_too_long";
export const RAPPORT_CAPABILITY = "rapport";
export const RAPPORT_MARKERS = ["assistant_unavailable", "followup_offer"];
export const SESSION_CONFIRM = "session_confirm";
export const SESSION_REQUEST = "session_request";
export const STATE_ASSIGNED = "assigned";
export const STATE_BOT = "bot";
export const STATE_QUEUED = "queued";
export const STATE_RESOLVED = "resolved";
export const UNKNOWN_PRODUCT = "unknown_product";
export const USER_UTTERED = "user_uttered";
export const VISITOR_TYPING = "visitor_typing";
