/**
 * REST client for /api (docs/agent-api.md). The session lives in an HttpOnly
 * cookie; the CSRF token is kept in memory only and sent on every
 * state-changing request. Errors become `ApiError` with the server's
 * `{error, message}`.
 */

let csrfToken = null;
let onUnauthenticated = null;

export class ApiError extends Error {
  constructor(status, code, message, data) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || "error";
    this.data = data || null; // the whole answer (e.g. per-field validation messages)
  }
}

export function setCsrfToken(token) {
  csrfToken = typeof token === "string" ? token : null;
}

/** Called when a request answers 401 (the session expired or was revoked). */
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (_) {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection.");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (_) {
    data = null;
  }
  if (!response.ok) {
    const code = data && typeof data.error === "string" ? data.error : "";
    const message = data && typeof data.message === "string" ? data.message : "";
    const error = new ApiError(response.status, code, message || defaultMessage(response.status), data);
    if (response.status === 401 && path !== "/api/auth/login" && onUnauthenticated) onUnauthenticated(error);
    throw error;
  }
  return data;
}

function defaultMessage(status) {
  if (status === 401) return "Your session has ended. Please sign in again.";
  if (status === 403) return "You are not allowed to do that.";
  if (status === 404) return "Not found.";
  if (status === 409) return "Someone else changed this first.";
  if (status >= 500) return "The server had a problem. Try again in a moment.";
  return `Request failed (HTTP ${status}).`;
}

const q = (params) => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
};
const id = (value) => encodeURIComponent(String(value));

export const api = {
  login: (username, password) => request("POST", "/api/auth/login", { username, password }),
  logout: () => request("POST", "/api/auth/logout"),
  me: () => request("GET", "/api/me"),
  updateMe: (patch) => request("PATCH", "/api/me", patch),
  changePassword: (current, next) =>
    request("POST", "/api/me/password", { current_password: current, new_password: next }),
  agents: (cursor) => request("GET", `/api/agents${q({ cursor })}`),
  signOutEverywhere: () => request("POST", "/api/me/sign-out-everywhere"),
  signOutAgent: (aid) => request("POST", `/api/agents/${id(aid)}/sign-out-everywhere`),
  deactivateAgent: (aid) => request("POST", `/api/agents/${id(aid)}/deactivate`),
  reactivateAgent: (aid) => request("POST", `/api/agents/${id(aid)}/reactivate`),
  conversations: (view, limit, cursor) => request("GET", `/api/conversations${q({ view, limit, cursor })}`),
  conversation: (cid) => request("GET", `/api/conversations/${id(cid)}`),
  messages: (cid, beforeId, limit) =>
    request("GET", `/api/conversations/${id(cid)}/messages${q({ before_id: beforeId, limit })}`),
  sendMessage: (cid, text, note, clientId) =>
    request("POST", `/api/conversations/${id(cid)}/messages`, { text, note: !!note, client_id: clientId }),
  messagesAfter: (cid, afterId) => request("GET", `/api/conversations/${id(cid)}/messages${q({ after_id: afterId, limit: 500 })}`),
  messagesAfterSeq: (cid, afterSeq, limit = 500) => request("GET", `/api/conversations/${id(cid)}/messages${q({ after_seq: afterSeq, limit })}`),
  accept: (cid) => request("POST", `/api/conversations/${id(cid)}/accept`),
  transfer: (cid, agentId, note) =>
    request("POST", `/api/conversations/${id(cid)}/transfer`, {
      ...(agentId === null ? { queue: true } : { agent_id: agentId }),
      ...(note ? { note } : {}),
    }),
  resolve: (cid) => request("POST", `/api/conversations/${id(cid)}/resolve`),
  handback: (cid) => request("POST", `/api/conversations/${id(cid)}/handback`),
  read: (cid) => request("POST", `/api/conversations/${id(cid)}/read`),
  visitorConversations: (vid, beforeId, limit) =>
    request("GET", `/api/visitors/${id(vid)}/conversations${q({ before_id: beforeId, limit })}`),
  canned: () => request("GET", "/api/canned-responses"),
  addCanned: (shortcut, text) => request("POST", "/api/canned-responses", { shortcut, text }),
  deleteCanned: (cid) => request("DELETE", `/api/canned-responses/${id(cid)}`),
  followups: (status, cursor, limit) => request("GET", `/api/followups${q({ status, cursor, limit })}`),
  followupDone: (fid) => request("POST", `/api/followups/${id(fid)}/done`),
  webhooks: () => request("GET", "/api/webhooks"),
  addWebhook: (url, topics) => request("POST", "/api/webhooks", { url, topics }),
  updateWebhook: (wid, patch) => request("PATCH", `/api/webhooks/${id(wid)}`, patch),
  deleteWebhook: (wid) => request("DELETE", `/api/webhooks/${id(wid)}`),
  webhookDeliveries: (wid, cursor) => request("GET", `/api/webhooks/${id(wid)}/deliveries${q({ cursor })}`),
  testWebhook: (wid) => request("POST", `/api/webhooks/${id(wid)}/test`),
  liveVisitors: (cursor, limit) => request("GET", `/api/visitors/live${q({ cursor, limit })}`),
  systemWarnings: () => request("GET", "/api/system/warnings"),
  devMail: () => request("GET", "/api/dev/mail"),
  startChat: (vid, text) => request("POST", `/api/visitors/${id(vid)}/conversation`, { text }),
  analyticsSummary: (query) => request("GET", `/api/analytics/summary${q(query)}`),
  analyticsTable: (name, query) => request("GET", `/api/analytics/tables/${id(name)}${q(query)}`),
  segments: (params) => request("GET", `/api/segments${q(params || {})}`),
  segment: (sid) => request("GET", `/api/segments/${id(sid)}`),
  segmentFields: () => request("GET", "/api/segments/fields"),
  createSegment: (body) => request("POST", "/api/segments", body),
  updateSegment: (sid, body) => request("PATCH", `/api/segments/${id(sid)}`, body),
  archiveSegment: (sid) => request("DELETE", `/api/segments/${id(sid)}`),
  previewSegment: (filter) => request("POST", "/api/segments/preview", { filter }),
  campaigns: (params) => request("GET", `/api/campaigns${q(params || {})}`),
  campaign: (cid) => request("GET", `/api/campaigns/${id(cid)}`),
  createCampaign: (body) => request("POST", "/api/campaigns", body),
  updateCampaign: (cid, body) => request("PATCH", `/api/campaigns/${id(cid)}`, body),
  campaignAction: (cid, verb) => request("POST", `/api/campaigns/${id(cid)}/${verb}`),
  newCampaignVersion: (cid) => request("POST", `/api/campaigns/${id(cid)}/versions`),
  validateCampaign: (body) => request("POST", "/api/campaigns/validate", body),
  campaignResults: (cid, mode) => request("GET", `/api/campaigns/${id(cid)}/results${q({ mode })}`),
  planCampaign: (body) => request("POST", "/api/campaigns/plan", body),
};

/** Where a campaign's results download as CSV. */
export const campaignCsvUrl = (cid, mode) => `/api/campaigns/${id(cid)}/results.csv${q({ mode })}`;

/** Where the CSV of an analytics table downloads from (a plain link: the cookie rides along). */
export const analyticsCsvUrl = (name, query) => `/api/analytics/tables/${id(name)}.csv${q(query)}`;
