/**
 * The rating card shown after an agent resolves the chat (`csat_request`).
 *
 * Five stars form a radio group (one tab stop; arrows move and select, as in
 * the ARIA radio pattern), an optional comment, and Submit, which stays
 * disabled until a score is chosen. Submitting makes the card inert until the
 * server answers `csat_recorded` (→ "Thanks for your feedback!") or an error
 * (→ the card is usable again).
 */

import { MAX_COMMENT_CHARS } from "./connection.js";
import { h } from "./render.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const STAR = "M12 2.6l2.9 5.9 6.5.9-4.7 4.6 1.1 6.5L12 17.4l-5.8 3.1 1.1-6.5L2.6 9.4l6.5-.9z";
const WORDS = ["Very poor", "Poor", "OK", "Good", "Excellent"];

function starIcon() {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", STAR);
  svg.appendChild(path);
  return svg;
}

export class CsatCard {
  /**
   * @param {number} conversationId
   * @param {(score: number, comment: string) => void} onSubmit
   * @param {() => void} onDone after the thanks replaced the card (focus moves on)
   */
  constructor(conversationId, onSubmit, onDone) {
    this.conversationId = conversationId;
    this.onSubmit = onSubmit;
    this.onDone = onDone;
    this.score = 0;
    this.pending = false;
    this.done = false;

    this.stars = WORDS.map((word, i) => {
      const n = i + 1;
      const star = h("button", {
        type: "button", className: "star", role: "radio", "aria-checked": "false",
        "aria-label": `${n} ${n === 1 ? "star" : "stars"}, ${word.toLowerCase()}`,
        title: word, tabindex: i === 0 ? "0" : "-1", "data-score": String(n),
      }, [starIcon()]);
      star.addEventListener("click", () => this.choose(n));
      star.addEventListener("keydown", (event) => this.onKey(event, n));
      return star;
    });
    const titleId = `rapport-csat-${conversationId}`;
    this.choice = h("span", { className: "csat-choice", "aria-hidden": "true" });
    this.comment = h("textarea", {
      className: "csat-comment", rows: "2", maxlength: String(MAX_COMMENT_CHARS),
      placeholder: "Anything we could do better?",
    });
    this.submit = h("button", { type: "submit", className: "csat-submit", text: "Submit", disabled: true });
    this.form = h("form", { className: "csat", "aria-labelledby": titleId }, [
      h("p", { className: "csat-title", id: titleId, text: "How did we do?" }),
      h("div", { className: "csat-stars" }, [
        h("div", { className: "stars", role: "radiogroup", "aria-label": "Your rating" }, this.stars),
        this.choice,
      ]),
      h("label", { className: "csat-label" }, [h("span", { text: "Comment (optional)" }), this.comment]),
      this.submit,
    ]);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.node = h("div", { className: "turn csat-turn" }, [this.form]);
  }

  choose(n, focus) {
    if (this.pending || this.done) return;
    this.score = n;
    this.stars.forEach((star, i) => {
      const checked = i + 1 === n;
      star.setAttribute("aria-checked", String(checked));
      star.tabIndex = checked ? 0 : -1;
      star.classList.toggle("on", i < n);
    });
    this.choice.textContent = WORDS[n - 1];
    this.submit.disabled = false;
    if (focus) this.stars[n - 1].focus();
  }

  onKey(event, n) {
    const keys = { ArrowRight: n + 1, ArrowUp: n + 1, ArrowLeft: n - 1, ArrowDown: n - 1, Home: 1, End: 5 };
    if (!(event.key in keys)) return;
    event.preventDefault();
    const next = ((keys[event.key] + 4) % 5) + 1; // wrap around 1..5
    this.choose(next, true);
  }

  // Busy controls stay enabled (only inert): disabling the focused Submit
  // would drop keyboard focus out of the dialog.
  setBusy(busy) {
    this.pending = busy;
    this.form.classList.toggle("busy", busy);
    this.comment.readOnly = busy;
    if (busy) this.submit.setAttribute("aria-disabled", "true");
    else this.submit.removeAttribute("aria-disabled");
    this.submit.textContent = busy ? "Sending…" : "Submit";
  }

  send() {
    if (!this.score || this.pending || this.done) return;
    this.setBusy(true);
    this.onSubmit(this.score, this.comment.value);
  }

  /** `csat_recorded`: replace the card with the thanks. */
  recorded() {
    if (this.done) return;
    const hadFocus = this.node.contains(this.node.getRootNode().activeElement);
    this.done = true;
    this.pending = false;
    const stars = "★".repeat(this.score) + "☆".repeat(5 - this.score);
    this.form.replaceWith(
      h("div", { className: "csat csat-done" }, [
        h("p", { className: "csat-thanks", text: "Thanks for your feedback!" }),
        h("p", { className: "csat-given", "aria-hidden": "true", text: stars }),
      ])
    );
    if (hadFocus && this.onDone) this.onDone();
  }

  /** The server refused the rating: let the visitor try again. */
  failed() {
    if (this.pending && !this.done) this.setBusy(false);
  }
}
