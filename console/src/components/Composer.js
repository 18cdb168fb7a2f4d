/**
 * The composer: Enter sends, Shift+Enter is a new line, "/shortcut" offers
 * canned responses (Tab, Enter or a click inserts one). Reply and Note are
 * explicit modes per conversation; the draft (text and mode) is kept per
 * conversation across reloads (actions/composer.js). While the agent cannot
 * reply (queue, bot, another agent's chat) only notes are possible, and what
 * is typed then is a note draft: it stays a note after Accept.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { MAX_TEXT } from "../protocol.gen.js";
import { send, composing, stopTyping, openDialog, draftOf, keepDraft, setMode } from "../actions/index.js";
import { Icon } from "./icons.js";
import { cannedValues, renderCanned } from "../canned.js";

const SLASH = /(^|\s)\/([a-z0-9_-]*)$/i;

/** The "/query" being typed just before the caret, if any. */
function slashQuery(text, caret) {
  const m = SLASH.exec(text.slice(0, caret));
  if (!m) return null;
  return { query: m[2].toLowerCase(), start: m.index + m[1].length, end: caret };
}

export function matches(canned, query) {
  const starts = canned.filter((c) => c.shortcut.toLowerCase().startsWith(query));
  const contains = canned.filter((c) => !c.shortcut.toLowerCase().startsWith(query)
    && (c.shortcut.toLowerCase().includes(query) || (query.length > 1 && c.text.toLowerCase().includes(query))));
  return starts.concat(contains).slice(0, 6);
}

export function Composer({ state, c, mine, name }) {
  const admin = state.me && state.me.role === "admin";
  const canMessage = c.state === "assigned" && (mine || admin);
  const [text, setText] = useState(() => draftOf(c.id).text);
  const mode = canMessage ? draftOf(c.id).mode : "note"; // draftOf reads state.modes first
  const [slash, setSlash] = useState(null); // {query, start, end}
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState(false);
  const input = useRef(null);

  // The Composer is keyed by conversation: each keeps its own draft. The draft is
  // saved as the text changes, not in an effect after the next paint, so a reload
  // or a closed tab right after typing keeps it.
  function change(value) {
    setText(value);
    keepDraft(c.id, value);
  }
  useEffect(resize, []);

  const isNote = mode === "note";
  // The picker previews each canned response as the visitor will read it.
  const values = cannedValues(c, state.me);
  const options = (slash && !dismissed ? matches(state.canned, slash.query) : [])
    .map((o) => ({ ...o, rendered: renderCanned(o.text, values) }));
  const open = options.length > 0;
  const selected = open ? Math.min(active, options.length - 1) : -1;

  function resize() {
    const el = input.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 180)}px`;
  }

  function onInput(event) {
    const el = event.currentTarget;
    // Typed while only notes are possible: a note draft, whatever happens next.
    if (!canMessage && draftOf(c.id).mode !== "note") setMode(c.id, "note");
    change(el.value);
    const q = slashQuery(el.value, el.selectionStart);
    setSlash(q);
    if (!q || !slash || q.query !== slash.query) setActive(0);
    setDismissed(false);
    resize();
    if (el.value.trim()) composing(c.id, isNote);
    else stopTyping(c.id);
  }

  function insert(option) {
    const q = slash;
    const before = text.slice(0, q.start);
    const after = text.slice(q.end);
    const next = before + option.rendered + after;
    change(next);
    setSlash(null);
    const caret = before.length + option.rendered.length;
    requestAnimationFrame(() => {
      const el = input.current;
      if (!el) return;
      el.focus();
      el.setSelectionRange(caret, caret);
      resize();
    });
    composing(c.id, isNote);
  }

  function submit(event) {
    if (event) event.preventDefault();
    const value = text;
    if (!value.trim()) return;
    send(c.id, value, isNote);
    change("");
    setSlash(null);
    requestAnimationFrame(resize);
  }

  function onKeyDown(event) {
    if (event.isComposing) return;
    if (open) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        setActive((selected + step + options.length) % options.length);
        return;
      }
      if (event.key === "Tab" || (event.key === "Enter" && !event.shiftKey)) {
        event.preventDefault();
        insert(options[selected]);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        setDismissed(true);
        return;
      }
    }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      submit();
    }
  }

  function choose(next) {
    setMode(c.id, next);
    if (input.current) input.current.focus();
  }

  const hint = lockedHint(c, mine, admin, name);
  const tooLong = text.length > MAX_TEXT;
  return html`
    <div class=${`composer-area${isNote ? " is-note" : ""}`}>
      ${hint ? html`<div class="locked-hint">${hint}</div>` : null}
      ${isNote ? html`<div class="note-banner"><${Icon} name="note" size=${14} /> Internal note: only agents see it</div>` : null}
      <form class="composer" onSubmit=${submit}>
        ${open ? html`
          <ul class="suggestions" id="canned-suggestions" role="listbox" aria-label="Canned responses">
            ${options.map((o, i) => html`
              <li id=${`canned-opt-${o.id}`} role="option" aria-selected=${i === selected ? "true" : "false"}
                class=${i === selected ? "active" : ""}
                onMouseDown=${(e) => { e.preventDefault(); insert(o); }}>
                <span class="shortcut">/${o.shortcut}</span>
                <span class="canned-text">${o.rendered}</span>
              </li>`)}
          </ul>` : null}
        <label for="composer-input" class="sr-only">${isNote ? "Internal note" : `Reply to ${name}`}</label>
        <textarea id="composer-input" ref=${input} rows="1" value=${text} maxlength=${MAX_TEXT + 100}
          placeholder=${isNote ? "Internal note – the visitor never sees this" : `Reply to ${name}…`}
          onInput=${onInput} onKeyDown=${onKeyDown}
          onBlur=${() => { setSlash(null); stopTyping(c.id); }}
          role="combobox" aria-autocomplete="list" aria-expanded=${open ? "true" : "false"}
          aria-controls=${open ? "canned-suggestions" : undefined}
          aria-activedescendant=${open ? `canned-opt-${options[selected].id}` : undefined}></textarea>
        <div class="composer-bar">
          <div class="mode-switch" role="group" aria-label="Message type">
            <button type="button" class=${`btn small mode-reply${isNote ? "" : " on"}`} aria-pressed=${isNote ? "false" : "true"}
              disabled=${!canMessage} onClick=${() => choose("reply")} title="Reply: the visitor sees it (r)">
              <${Icon} name="send" size=${14} /> Reply</button>
            <button type="button" class=${`btn small note-toggle${isNote ? " on" : ""}`} aria-pressed=${isNote ? "true" : "false"}
              onClick=${() => choose("note")} title="Internal note: only agents see it (n)">
              <${Icon} name="note" size=${14} /> Note</button>
          </div>
          <button type="button" class="btn small link" onClick=${() => openDialog("canned")}>
            <${Icon} name="bolt" size=${16} /><span class="btn-label">Canned</span></button>
          <span class="composer-hint">${tooLong ? html`<span class="error">Too long (${text.length}/${MAX_TEXT})</span>`
            : "Enter sends · Shift+Enter new line · / canned"}</span>
          <button type="submit" class="btn primary send-btn" disabled=${!text.trim() || tooLong}>
            <${Icon} name="send" size=${16} /> ${isNote ? "Add note" : "Send"}</button>
        </div>
      </form>
    </div>
  `;
}

function lockedHint(c, mine, admin, name) {
  if (c.state === "assigned" && (mine || admin)) return null;
  if (c.state === "bot") return `${name} is talking to the bot. Join to reply; meanwhile you can leave internal notes.`;
  if (c.state === "queued") return `${name} is waiting for a person. Accept to reply.`;
  if (c.state === "assigned") return "Another agent is handling this conversation. You can leave internal notes.";
  if (c.state === "resolved") return "This conversation is resolved. You can still leave internal notes.";
  return null;
}
