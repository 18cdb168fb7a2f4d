/**
 * Keyboard shortcuts for the inbox: which key does what. Pure: `shortcutFor`
 * maps a key press (the fields of a KeyboardEvent) and where it happened to
 * an action name, or null; actions/shortcuts.js carries the actions out.
 *
 * Rules: nothing fires while typing in a text field (input, textarea, select,
 * editable content) except Escape, which leaves the field; nothing fires with
 * Ctrl, Meta (⌘) or Alt except the documented Alt+↓ / Alt+↑; nothing fires
 * while a dialog is open (it has its own keys) or during IME composition.
 */

/** The table shown in the `?` overlay and in docs/console.md. */
export const SHORTCUTS = [
  { keys: ["j", "Alt+↓"], action: "next", label: "Next conversation in the list" },
  { keys: ["k", "Alt+↑"], action: "previous", label: "Previous conversation in the list" },
  { keys: ["r"], action: "reply", label: "Write a reply (to the visitor)" },
  { keys: ["n"], action: "note", label: "Write an internal note (agents only)" },
  { keys: ["a"], action: "accept", label: "Accept (queue) or join (bot) the open conversation" },
  { keys: ["e"], action: "resolve", label: "Resolve the open conversation (undo for 5 s)" },
  { keys: ["u"], action: "undo", label: "Undo the waiting Resolve or Hand back" },
  { keys: ["Esc"], action: "leave", label: "Leave the message box" },
  { keys: ["?"], action: "help", label: "Show these shortcuts" },
];

const PLAIN = { j: "next", k: "previous", r: "reply", n: "note", a: "accept", e: "resolve", u: "undo", "?": "help" };
const WITH_ALT = { ArrowDown: "next", ArrowUp: "previous" };

/** Whether `target` (an element, or null) takes typed text. */
export function isTextField(target) {
  if (!target || typeof target !== "object") return false;
  if (target.isContentEditable) return true;
  const tag = String(target.tagName || "").toUpperCase();
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  const type = String(target.type || "text").toLowerCase();
  return !["button", "checkbox", "radio", "submit", "reset", "range", "color", "file", "image"].includes(type);
}

/**
 * The action for key press `event` ({key, altKey, ctrlKey, metaKey, shiftKey,
 * isComposing, defaultPrevented}); `typing` is whether it happened in a text
 * field, `dialogOpen` whether a dialog is showing.
 */
export function shortcutFor(event, { typing = false, dialogOpen = false } = {}) {
  if (!event || event.isComposing || event.defaultPrevented || dialogOpen) return null;
  const key = event.key;
  if (key === "Escape") {
    return typing && !event.ctrlKey && !event.metaKey && !event.altKey && !event.shiftKey ? "leave" : null;
  }
  if (typing || event.ctrlKey || event.metaKey) return null;
  if (event.altKey) return event.shiftKey ? null : WITH_ALT[key] || null;
  // Shift is how "?" is typed; with a letter it is a different key (J ≠ j).
  return Object.prototype.hasOwnProperty.call(PLAIN, key) ? PLAIN[key] : null;
}

/** The item after (step 1) or before (step -1) `currentId` in `ids`; the first when `currentId` is not there. */
export function neighbour(ids, currentId, step) {
  if (!ids.length) return null;
  const at = ids.indexOf(currentId);
  if (at === -1) return ids[0];
  const next = at + step;
  return next >= 0 && next < ids.length ? ids[next] : null;
}
