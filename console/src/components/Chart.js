/**
 * Chart.js (npm) inside Preact: one canvas, created once, updated in place
 * when the data changes, destroyed on unmount. Only the pieces the dashboard
 * uses are registered, and the library is loaded only when a chart is shown.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";

let loading = null;

/**
 * Chart.js, loaded the first time a chart is shown (its own bundle chunk):
 * agents who never open the dashboard never download it.
 */
export function loadChart() {
  if (!loading) {
    loading = import("../chartjs.js").then((m) => m.Chart);
    loading.catch(() => {
      loading = null; // a failed download is tried again next time
    });
  }
  return loading;
}

/** A chart of `type` ("line" | "bar") for `data`; `label` describes it to screen readers. */
export function ChartCanvas({ type, data, options, label }) {
  const canvas = useRef(null);
  const chart = useRef(null);
  const [Chart, setChart] = useState(null);
  useEffect(() => {
    let live = true;
    loadChart().then((C) => live && setChart(() => C), () => {});
    return () => {
      live = false;
    };
  }, []);
  useEffect(() => {
    if (!Chart) return undefined;
    chart.current = new Chart(canvas.current, {
      type,
      data,
      options: { responsive: true, maintainAspectRatio: false, animation: false, ...options },
    });
    return () => {
      chart.current.destroy();
      chart.current = null;
    };
  }, [Chart, type]);
  useEffect(() => {
    if (!chart.current) return;
    chart.current.data = data;
    chart.current.update("none");
  }, [data]);
  return html`<div class="chart-box"><canvas ref=${canvas} role="img" aria-label=${label}></canvas></div>`;
}
