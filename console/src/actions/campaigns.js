/**
 * Campaigns (admins and marketers): the list, the editor (save, "Check"
 * against /api/campaigns/validate, the planning box), lifecycle actions and
 * the results page. Routes: `#/campaigns`, `#/campaigns/new`,
 * `#/campaigns/12`, `#/campaigns/12/results?mode=fixed`.
 */

import { api } from "../api.js";
import { fieldErrors } from "../campaign_form.js";
import { getState, set } from "../store.js";
import { go } from "./bus.js";
import { toast } from "./toasts.js";

const patch = (p) => set((s) => ({ campaigns: { ...s.campaigns, ...p } }));

const VERBS = {
  start: { label: "Start", done: "started" },
  pause: { label: "Pause", done: "paused" },
  end: { label: "End", done: "ended", confirm: "End the campaign “%s”? It stops for good; its results stay readable." },
  archive: { label: "Archive", done: "archived", confirm: "Archive the campaign “%s”? It is hidden from the list; its results stay readable." },
};
export const ACTION_LABELS = { ...Object.fromEntries(Object.entries(VERBS).map(([k, v]) => [k, v.label])), versions: "New version" };

export function showCampaigns(id, results, hash) {
  set({ section: "campaigns", pane: "list" });
  patch({ openId: id === undefined ? null : id, results: !!results, item: null, itemError: "", validation: null, plan: null });
  loadCampaigns();
  loadSegmentChoices();
  if (id !== undefined && id !== "new") loadCampaign(id);
  if (results) {
    const mode = new URLSearchParams((hash || "").split("?")[1] || "").get("mode") === "fixed" ? "fixed" : "sequential";
    loadResults(id, mode);
  }
}

export async function loadCampaigns() {
  try {
    const data = await api.campaigns();
    patch({ list: data.campaigns || [], loaded: true, error: "" });
  } catch (error) {
    patch({ loaded: true, error: error.message });
  }
}

async function loadSegmentChoices() {
  try {
    const data = await api.segments();
    patch({ segments: (data.segments || []).filter((s) => !s.archived_at) });
  } catch (_) {
    // The picker stays empty; the editor says so.
  }
}

export async function loadCampaign(id) {
  try {
    const data = await api.campaign(id);
    if (String(getState().campaigns.openId) === String(id)) patch({ item: data.campaign || data, itemError: "" });
  } catch (error) {
    patch({ itemError: error.message });
  }
}

/** Save (create or update); returns per-field messages, or null once saved. */
export async function saveCampaign(id, body) {
  try {
    const data = id ? await api.updateCampaign(id, body) : await api.createCampaign(body);
    const saved = data.campaign || data;
    toast(`Campaign “${saved.name || body.name}” saved.`, "ok");
    patch({ validation: null });
    await loadCampaigns();
    if (!id && saved.id) go(`campaigns/${saved.id}`);
    else if (id) loadCampaign(id);
    return null;
  } catch (error) {
    const errors = fieldErrors(error.data);
    return Object.keys(errors).length ? errors : { "": error.message };
  }
}

/** "Check": the server's rule validation; the messages go to the store by field. */
export async function validateCampaign(body) {
  patch({ validation: { checking: true, errors: {} } });
  try {
    const data = await api.validateCampaign(body);
    const errors = fieldErrors(data);
    patch({ validation: { checking: false, errors, ok: !Object.keys(errors).length, warnings: data && data.warnings } });
  } catch (error) {
    const errors = fieldErrors(error.data);
    patch({ validation: { checking: false, errors: Object.keys(errors).length ? errors : { "": error.message }, ok: false } });
  }
}

export function clearValidation() {
  patch({ validation: null });
}

export async function campaignAction(campaign, verb) {
  if (verb === "versions") return newVersion(campaign);
  const how = VERBS[verb];
  if (how.confirm && !window.confirm(how.confirm.replace("%s", campaign.name))) return null;
  try {
    await api.campaignAction(campaign.id, verb);
    toast(`Campaign “${campaign.name}” ${how.done}.`, "ok");
    await loadCampaigns();
    if (String(getState().campaigns.openId) === String(campaign.id)) loadCampaign(campaign.id);
  } catch (error) {
    toast(`Could not ${how.label.toLowerCase()} the campaign: ${error.message}`, "error");
  }
  return null;
}

export async function newVersion(campaign) {
  if (!window.confirm(`Make a new draft version of “${campaign.name}”? The running version keeps running until you start the new one.`)) return;
  try {
    const data = await api.newCampaignVersion(campaign.id);
    const draft = data.campaign || data;
    toast(`Version ${draft.version || ""} of “${campaign.name}” created as a draft.`, "ok");
    await loadCampaigns();
    if (draft.id) go(`campaigns/${draft.id}`);
  } catch (error) {
    toast(`Could not make a new version: ${error.message}`, "error");
  }
}

/** Sample size and duration before launch. */
export async function planCampaign(body) {
  patch({ plan: { loading: true } });
  try {
    const data = await api.planCampaign(body);
    patch({ plan: { loading: false, data } });
  } catch (error) {
    patch({ plan: { loading: false, error: error.message, errors: fieldErrors(error.data) } });
  }
}

let resultsGeneration = 0;

export async function loadResults(id, mode) {
  const generation = ++resultsGeneration;
  patch({ resultsMode: mode, resultsLoading: true });
  try {
    const data = await api.campaignResults(id, mode);
    if (generation === resultsGeneration) patch({ resultsData: data, resultsError: "", resultsLoading: false });
  } catch (error) {
    if (generation === resultsGeneration) patch({ resultsError: error.message, resultsLoading: false });
  }
}

export function setResultsMode(id, mode) {
  go(`campaigns/${id}/results${mode === "fixed" ? "?mode=fixed" : ""}`);
}
