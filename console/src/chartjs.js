/**
 * The pieces of Chart.js the dashboard uses, registered once. Imported only
 * through `import()` (components/Chart.js), so it is a bundle chunk of its own
 * that agents who never open the dashboard never download.
 */

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

Chart.register(
  BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController,
  LineElement, PointElement, Tooltip,
);

export { Chart };
