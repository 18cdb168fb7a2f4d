/** Outbound webhooks (admins): endpoints, the secret shown once, the delivery log. */

import { api } from "../api.js";
import { WEBHOOK_TOPICS } from "../protocol.gen.js";
import { loadedText } from "../format.js";
import { getState, set } from "../store.js";
import { toast } from "./toasts.js";

export const TOPICS = WEBHOOK_TOPICS;

const patch = (p) => set((s) => ({ webhooks: { ...s.webhooks, ...p } }));

export function showWebhooks() {
  set({ section: "webhooks", pane: "list" });
  loadWebhooks();
}

export async function loadWebhooks() {
  try {
    const { webhooks } = await api.webhooks();
    patch({ list: webhooks, loaded: true, error: "" });
    const open = getState().webhooks.openId;
    if (open) loadDeliveries(open);
  } catch (error) {
    patch({ loaded: true, error: error.message });
  }
}

/** Returns an error text, or null once created (the secret is then shown once). */
export async function addWebhook(url, topics) {
  try {
    const { webhook, secret } = await api.addWebhook(url, topics);
    patch({ secret: { id: webhook.id, value: secret } });
    await loadWebhooks();
    return null;
  } catch (error) {
    return error.message;
  }
}

export async function toggleWebhook(webhook) {
  try {
    await api.updateWebhook(webhook.id, { enabled: !webhook.enabled });
    loadWebhooks();
  } catch (error) {
    toast(`Could not change the webhook: ${error.message}`, "error");
  }
}

export async function deleteWebhook(webhook) {
  try {
    await api.deleteWebhook(webhook.id);
    if (getState().webhooks.openId === webhook.id) patch({ openId: null, deliveries: [] });
    loadWebhooks();
  } catch (error) {
    toast(`Could not delete the webhook: ${error.message}`, "error");
  }
}

export async function loadDeliveries(id) {
  if (getState().webhooks.openId !== id) patch({ deliveries: [], next: null, status: "" });
  patch({ openId: id });
  try {
    const { deliveries, next_cursor: next } = await api.webhookDeliveries(id);
    if (getState().webhooks.openId === id) patch({ deliveries, next: next || null, status: "" });
  } catch (error) {
    toast(`Could not load the delivery log: ${error.message}`, "error");
  }
}

/** The next page of the open delivery log (newest first). */
export async function loadMoreDeliveries() {
  const w = getState().webhooks;
  if (!w.openId || !w.next || w.loading) return;
  const id = w.openId;
  patch({ loading: true });
  try {
    const data = await api.webhookDeliveries(id, w.next);
    if (getState().webhooks.openId !== id) return;
    const known = new Set(getState().webhooks.deliveries.map((d) => d.id));
    const deliveries = getState().webhooks.deliveries.concat(data.deliveries.filter((d) => !known.has(d.id)));
    const next = data.next_cursor || null;
    patch({ deliveries, next, status: loadedText(data.deliveries.length, deliveries.length, !!next, "deliveries") });
  } catch (error) {
    toast(`Could not load the delivery log: ${error.message}`, "error");
  } finally {
    patch({ loading: false });
  }
}

export async function testWebhook(webhook) {
  try {
    await api.testWebhook(webhook.id);
    toast("Test delivery queued.", "ok");
    setTimeout(() => loadDeliveries(webhook.id), 1500);
  } catch (error) {
    toast(`Could not send a test: ${error.message}`, "error");
  }
}

export function dismissSecret() {
  patch({ secret: null });
}
