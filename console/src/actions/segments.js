/**
 * Segments (admins and marketers): the list with live sizes, the field
 * registry for the condition builder, live counts while editing (debounced),
 * save and archive. Routes: `#/segments`, `#/segments/new`, `#/segments/12`.
 */

import { api } from "../api.js";
import { fieldErrors } from "../campaign_form.js";
import { getState, set } from "../store.js";
import { go } from "./bus.js";
import { toast } from "./toasts.js";

export const PREVIEW_DEBOUNCE_MS = 400;

const patch = (p) => set((s) => ({ segments: { ...s.segments, ...p } }));

export function showSegments(id) {
  set({ section: "segments", pane: "list" });
  patch({ openId: id === undefined ? null : id, item: null, itemError: "" });
  loadSegments();
  loadFields();
  if (id !== undefined && id !== "new") loadSegment(id);
}

export async function loadSegments() {
  try {
    const [data, campaigns] = await Promise.all([api.segments(), api.campaigns().catch(() => ({ campaigns: [] }))]);
    const list = (data.segments || []).map((x) => ({ ...x, used_by: usedBy(x.id, campaigns.campaigns || []) }));
    patch({ list, loaded: true, error: "" });
    loadSizes(list);
  } catch (error) {
    patch({ loaded: true, error: error.message });
  }
}

/** The campaigns (not archived) that target segment `id`. */
export function usedBy(id, campaigns) {
  return campaigns
    .filter((c) => c.status !== "archived" && (c.segment_id === id || (c.rules && c.rules.segment_id === id)))
    .map((c) => ({ id: c.id, name: c.name }));
}

/** Each segment's live size (GET /api/segments/{id} counts it), a few at a time. */
async function loadSizes(list) {
  const queue = list.slice(0, 100);
  const worker = async () => {
    while (queue.length) {
      const segment = queue.shift();
      try {
        const { count } = await api.segment(segment.id);
        set((s) => ({ segments: { ...s.segments, list: s.segments.list.map((x) => (x.id === segment.id ? { ...x, size: count } : x)) } }));
      } catch (_) {
        // The size stays "—".
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

export async function loadFields() {
  if (getState().segments.fields.length) return;
  try {
    const data = await api.segmentFields();
    patch({ fields: data.fields || [] });
  } catch (error) {
    patch({ error: `Could not load the segment fields: ${error.message}` });
  }
}

async function loadSegment(id) {
  try {
    const data = await api.segment(id);
    if (String(getState().segments.openId) === String(id)) patch({ item: { ...(data.segment || data), size: data.count } });
  } catch (error) {
    patch({ itemError: error.message });
  }
}

let previewTimer = null;
let previewGeneration = 0;

/** Count the visitors `filter` matches, after a pause in the typing; `onCount({count, error, counting})`. */
export function previewSize(filter, onCount) {
  clearTimeout(previewTimer);
  const generation = ++previewGeneration;
  onCount({ counting: true });
  previewTimer = setTimeout(async () => {
    try {
      const data = await api.previewSegment(filter);
      if (generation === previewGeneration) onCount({ count: data.count, counting: false, error: "", errors: {} });
    } catch (error) {
      if (generation === previewGeneration) onCount({ counting: false, error: error.message, errors: fieldErrors(error.data) });
    }
  }, PREVIEW_DEBOUNCE_MS);
}

/** Save (create or update); returns per-field messages, or null once saved. */
export async function saveSegment(id, body) {
  try {
    const data = id ? await api.updateSegment(id, body) : await api.createSegment(body);
    const saved = data.segment || data;
    toast(`Segment “${saved.name || body.name}” saved.`, "ok");
    await loadSegments();
    go("segments");
    return null;
  } catch (error) {
    const errors = fieldErrors(error.data);
    return Object.keys(errors).length ? errors : { "": error.message };
  }
}

export async function archiveSegment(segment) {
  if (!window.confirm(`Archive the segment “${segment.name}”? Campaigns that use it keep working until you change them.`)) return;
  try {
    await api.archiveSegment(segment.id);
    toast(`Segment “${segment.name}” archived.`, "ok");
    await loadSegments();
    go("segments");
  } catch (error) {
    toast(`Could not archive the segment: ${error.message}`, "error");
  }
}
