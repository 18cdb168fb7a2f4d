/** The one map of conversation summaries (the lists, the open conversation). */

import { isMine, setIn } from "../store.js";
import { toMs as ts } from "../time.js";
import { clearPending } from "./attention.js";
import { queueAlert, queuedForMe } from "./queue_alerts.js";
import { me, summary } from "./shared.js";

/** Store a summary unless we already hold a newer one; returns the one kept. */
export function upsert(c) {
  const previous = summary(c.id);
  if (previous && ts(previous.updated_at) > ts(c.updated_at)) return previous; // a late, older copy
  setIn("conversations", c.id, c);
  if (previous && previous.state !== c.state) setIn("visitorTyping", c.id, undefined);
  if (!isMine(c, me()) && !queuedForMe(c)) clearPending(c.id);
  queueAlert(c);
  return c;
}
