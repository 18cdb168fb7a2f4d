/**
 * Message rendering. Message content is only ever assigned with textContent
 * or as attribute values of elements we create: bot, agent and visitor text
 * can contain markup and must show up literally.
 */

import { safeUrl } from "./urls.js";

export function h(tag, attrs, children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const key of Object.keys(attrs)) {
      const value = attrs[key];
      if (value === null || value === undefined || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children || []) {
    if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

const ROLE_LABEL = { visitor: "You", agent: "Agent", bot: "Assistant" };

/** Who said it: agents are named visibly, everyone else only for screen readers. */
function senderLabel(role, name) {
  if (role === "agent") {
    return h("span", { className: "sender" }, [name || ROLE_LABEL.agent, h("span", { className: "sr-only", text: ": " })]);
  }
  return h("span", { className: "sr-only", text: `${ROLE_LABEL[role] || ROLE_LABEL.bot}: ` });
}

function bubble(role, text, extraClass, name) {
  return h("div", { className: `msg msg-${role}${extraClass ? ` ${extraClass}` : ""}` }, [
    senderLabel(role, name),
    h("p", { className: "bubble", text }),
  ]);
}

/** A sender name from the server, as plain text of a sane length (or ""). */
export function displayName(value) {
  return typeof value === "string" ? value.trim().slice(0, 80) : "";
}

export function visitorMessage(text) {
  return bubble("visitor", text);
}

export function systemNote(text, kind) {
  return h("div", { className: `note${kind ? ` note-${kind}` : ""}`, text });
}

export function formatPrice(amount, currency) {
  const value = Number(amount);
  if (!Number.isFinite(value)) return "";
  const code = typeof currency === "string" && /^[A-Za-z]{3}$/.test(currency) ? currency.toUpperCase() : "USD";
  try {
    return new Intl.NumberFormat(navigator.language || "en-US", { style: "currency", currency: code }).format(value);
  } catch (_) {
    return `${value.toFixed(2)} ${code}`;
  }
}

/** Quick replies and postback buttons: one group, disabled once one is used. */
function replyGroup(items, ctx, live) {
  const group = h("div", { className: "replies", role: "group", "aria-label": "Suggested replies" });
  for (const item of items) {
    if (!item || typeof item !== "object") continue;
    const title = typeof item.title === "string" ? item.title : "";
    if (!title) continue;
    const url = item.type === "web_url" ? safeUrl(item.url, ctx.origin) : null;
    if (url) {
      group.appendChild(h("a", { className: "reply", href: url, target: "_blank", rel: "noopener noreferrer", text: title }));
      continue;
    }
    const payload = typeof item.payload === "string" && item.payload ? item.payload : title;
    const button = h("button", { type: "button", className: "reply", text: title });
    button.addEventListener("click", () => {
      if (group.dataset.used) return;
      group.dataset.used = "1";
      button.classList.add("chosen");
      disableGroup(group);
      ctx.onReply(title, payload);
    });
    group.appendChild(button);
  }
  if (!group.childNodes.length) return null;
  if (!live) disableGroup(group);
  return group;
}

export function disableGroup(group) {
  group.classList.add("used");
  for (const button of group.querySelectorAll("button")) button.disabled = true;
}

function productCard(product, ctx) {
  if (!product || typeof product !== "object") return null;
  const name = typeof product.name === "string" ? product.name : "";
  if (!name) return null;
  const productId = product.id === undefined || product.id === null ? "" : String(product.id);
  const href = safeUrl(product.url, ctx.origin);
  const src = safeUrl(product.image, ctx.origin);
  const reason = typeof product.reason === "string" && product.reason ? product.reason : product.description;

  const link = href ? h("a", { className: "card-link", href, text: "View", "aria-label": `View ${name}` }) : null;
  const card = h("article", { className: "card", "data-product-id": productId }, [
    src ? h("img", { className: "card-img", src, alt: "", loading: "lazy", width: 120, height: 90 }) : null,
    h("div", { className: "card-body" }, [
      h("h3", { className: "card-name", text: name }),
      h("p", { className: "card-price", text: formatPrice(product.price, product.currency) }),
      typeof reason === "string" && reason ? h("p", { className: "card-reason", text: reason.slice(0, 240) }) : null,
      link,
    ]),
  ]);
  if (link) {
    // The whole card is clickable for pointer users; keyboard users use the link.
    card.addEventListener("click", (event) => {
      if (link.contains(event.target)) {
        if (productId) ctx.onCardClick(productId);
        return;
      }
      link.click(); // re-enters this listener with the link as target
    });
  }
  return card;
}

function customPart(custom, ctx) {
  if (!custom || typeof custom !== "object") return null;
  if (custom.type === "product_cards" && Array.isArray(custom.products)) {
    const cards = custom.products.slice(0, 10).map((p) => productCard(p, ctx)).filter(Boolean);
    if (!cards.length) return null;
    return h("div", { className: "cards", role: "list" }, cards.map((c) => {
      c.setAttribute("role", "listitem");
      return c;
    }));
  }
  return null; // unknown custom payloads are ignored
}

/**
 * Render one bot/agent message (`bot_uttered` payload or a history entry's
 * payload). Options: `role` "bot" or "agent", `name` (the agent's), `live`
 * false for history entries whose buttons are stale.
 */
export function botMessage(payload, ctx, options) {
  const role = (options && options.role) || "bot";
  const name = role === "agent" ? displayName(options && options.name) : "";
  const live = !options || options.live !== false;
  const custom = payload.custom && typeof payload.custom === "object" ? payload.custom : null;
  const warning = custom && custom.type === "assistant_unavailable";
  const wrap = h("div", { className: `turn turn-${role}`, "data-sender": role === "agent" ? `agent:${name}` : role });
  if (typeof payload.text === "string" && payload.text) {
    wrap.appendChild(bubble(role, payload.text, warning ? "msg-warning" : "", name));
  }
  const attachment = payload.attachment;
  if (attachment && typeof attachment === "object" && attachment.type === "image") {
    const src = safeUrl(attachment.payload && attachment.payload.src, ctx.origin);
    if (src) {
      wrap.appendChild(h("div", { className: `msg msg-${role}` }, [h("img", { className: "attachment", src, alt: role === "agent" ? `Image from ${name || "the agent"}` : "Image from the assistant" })]));
    }
  }
  const cards = customPart(custom, ctx);
  if (cards) wrap.appendChild(cards);
  const replies = [].concat(
    Array.isArray(payload.quick_replies) ? payload.quick_replies : [],
    Array.isArray(payload.buttons) ? payload.buttons : []
  );
  if (replies.length) {
    const group = replyGroup(replies, ctx, live);
    if (group) wrap.appendChild(group);
  }
  return wrap.childNodes.length ? wrap : null;
}
