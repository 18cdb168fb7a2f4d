/**
 * Carrying out the inbox's keyboard shortcuts (the key → action table and its
 * rules are in ../shortcuts.js): one keydown listener on the document,
 * installed at boot, active only in the signed-in inbox.
 */

import { isMine, getState, viewList } from "../store.js";
import { isTextField, neighbour, shortcutFor } from "../shortcuts.js";
import { writeIn } from "./composer.js";
import { openDialog } from "./dialogs.js";
import { accept, resolve, undoLatest } from "./handoff.js";
import { go } from "./bus.js";
import { me, summary } from "./shared.js";

const RUN = {
  next: () => step(1),
  previous: () => step(-1),
  reply: (cid, c) => canReply(c) && writeIn(cid, "reply"),
  note: (cid) => writeIn(cid, "note"),
  accept: (cid, c) => (c.state === "queued" || c.state === "bot") && accept(cid),
  resolve: (cid, c) => canReply(c) && resolve(cid),
  undo: () => undoLatest(),
  help: () => openDialog("shortcuts"),
};
// Actions on the open conversation (the others work without one).
const ON_CONVERSATION = new Set(["reply", "note", "accept", "resolve"]);

function canReply(c) {
  const agent = me();
  return c.state === "assigned" && (isMine(c, agent) || (agent && agent.role === "admin"));
}

function step(direction) {
  const s = getState();
  if (s.view === "followups") return;
  const ids = viewList(s, s.view).map((c) => c.id);
  const target = neighbour(ids, s.selectedId, direction);
  if (target !== null && target !== s.selectedId) go(`c/${target}`);
}

/** Escape in the message box: the focus goes to the transcript, where the letter keys work. */
function leave(target) {
  const log = document.querySelector(".transcript[role=log]");
  if (log) log.focus();
  else if (target && target.blur) target.blur();
}

export function onShortcutKey(event) {
  const s = getState();
  if (s.boot !== "ready" || s.section !== "inbox" || !s.me || s.me.role === "marketer") return;
  const name = shortcutFor(event, { typing: isTextField(event.target), dialogOpen: !!s.dialog });
  if (!name) return;
  if (name === "leave") {
    if (event.target && event.target.id === "composer-input") {
      event.preventDefault();
      leave(event.target);
    }
    return;
  }
  const cid = s.selectedId;
  const c = cid !== null ? summary(cid) : null;
  if (ON_CONVERSATION.has(name) && !c) return;
  event.preventDefault();
  RUN[name](cid, c);
}
