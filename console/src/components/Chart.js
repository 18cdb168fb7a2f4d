/**
 * Chart.js (npm) inside Preact: one canvas, created once, updated in place
 * when the data changes, destroyed on unmount. Only the pieces the dashboard
 * uses are registered, so the bundle carries nothing else.
 */

import { useEffect, useRef } from "preact/hooks";
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { html } from "../html.js";

Chart.register(
  BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController,
  LineElement, PointElement, Tooltip,
);

/** A chart of `type` ("line" | "bar") for `data`; `label` describes it to screen readers. */
export function ChartCanvas({ type, data, options, label }) {
  const canvas = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    chart.current = new Chart(canvas.current, {
      type,
      data,
      options: { responsive: true, maintainAspectRatio: false, animation: false, ...options },
    });
    return () => chart.current.destroy();
  }, [type]);
  useEffect(() => {
    if (!chart.current) return;
    chart.current.data = data;
    chart.current.update("none");
  }, [data]);
  return html`<div class="chart-box"><canvas ref=${canvas} role="img" aria-label=${label}></canvas></div>`;
}
