/** Outbound webhooks (admins): endpoints, the secret shown once, the delivery log. */

import { api } from "../api.js";
import { WEBHOOK_TOPICS } from "../protocol.gen.js";
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
  patch({ openId: id });
  try {
    const { deliveries } = await api.webhookDeliveries(id);
    patch({ deliveries });
  } catch (error) {
    toast(`Could not load the delivery log: ${error.message}`, "error");
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
