/**
 * The agent console (served at /console): see console/README.md.
 * Preact + htm, one store (store.js), one socket connector (socket.js).
 */

import "./console.css";
import "./engagement.css";
import { render } from "preact";
import { html } from "./html.js";
import { App } from "./components/App.js";
import { boot } from "./actions/index.js";

render(html`<${App} />`, document.getElementById("app"));
boot();
