/**
 * The opener as a visitor would see it: the real widget in a sandboxed frame
 * (/campaigns/preview, a thin server page that loads widget.js with the
 * content given in its query and no socket to the visitor protocol).
 */

import { useState } from "preact/hooks";
import { html } from "../html.js";
import { previewUrl } from "../campaign_form.js";

export function CampaignPreview({ form }) {
  const [arm, setArm] = useState(form.variants[0] ? form.variants[0].key : "A");
  const [shown, setShown] = useState(null);
  const variant = form.variants.find((v) => v.key === arm) || form.variants[0];
  return html`
    <section class="dash-card preview" aria-labelledby="ce-preview">
      <div class="dash-card-head"><h2 id="ce-preview">Preview</h2>
        <div class="form-actions">
          <label class="inline">Variant <select value=${arm} onChange=${(e) => setArm(e.currentTarget.value)}>
            ${form.variants.map((v) => html`<option value=${v.key}>${v.key}</option>`)}</select></label>
          <button type="button" class="btn small" onClick=${() => setShown(previewUrl(form.kind, variant ? variant.content : null))}>${shown ? "Refresh preview" : "Show preview"}</button>
        </div></div>
      ${shown ? html`<iframe class="preview-frame" title=${`Preview of variant ${arm} on the store`} src=${shown}
          sandbox="allow-scripts allow-same-origin" referrerpolicy="same-origin" loading="lazy"></iframe>`
        : html`<p class="muted">Shows the opener in the real widget on a page of the demo store, as a visitor would see it.</p>`}
    </section>
  `;
}
