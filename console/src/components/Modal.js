/** A modal dialog: labelled, focus kept inside, closed by Esc, the close button or a click outside. */

import { useEffect, useRef } from "preact/hooks";
import { html } from "../html.js";
import { closeDialog } from "../actions/dialogs.js";
import { Icon } from "./icons.js";

export function Modal({ title, id, children, wide }) {
  const ref = useRef(null);
  useEffect(() => {
    const el = ref.current;
    if (el && !el.open) {
      if (typeof el.showModal === "function") el.showModal();
      else el.setAttribute("open", "");
    }
    const onClose = () => closeDialog();
    el.addEventListener("close", onClose);
    return () => el.removeEventListener("close", onClose);
  }, []);
  return html`
    <dialog ref=${ref} class=${`modal${wide ? " wide" : ""}`} aria-labelledby=${`${id}-title`}
      onKeyDown=${(e) => keepFocusIn(ref.current, e)}
      onClick=${(e) => { if (e.target === ref.current) closeDialog(); }}>
      <div class="modal-body">
        <div class="modal-head">
          <h2 id=${`${id}-title`}>${title}</h2>
          <button type="button" class="btn icon-btn" onClick=${closeDialog} aria-label="Close"><${Icon} name="close" /></button>
        </div>
        ${children}
      </div>
    </dialog>
  `;
}

const FOCUSABLE = "button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

/** Tab and Shift+Tab cycle inside the dialog (the page behind is inert; this keeps the focus off the browser's own UI too). */
function keepFocusIn(dialog, event) {
  if (event.key !== "Tab" || !dialog) return;
  const items = Array.from(dialog.querySelectorAll(FOCUSABLE));
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  const active = document.activeElement;
  if (event.shiftKey && (active === first || !dialog.contains(active))) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (active === last || !dialog.contains(active))) {
    event.preventDefault();
    first.focus();
  }
}
