// Test doubles for the browser's edges (not test files: no .test.js suffix).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * An in-memory Web Storage (localStorage) with the real interface: length,
 * key(i), getItem, setItem, removeItem, clear. `quota` (characters of keys and
 * values together) makes setItem throw like a full browser store; `broken`
 * makes every call throw (Safari private mode, a sandboxed iframe).
 */
export class FakeStorage {
  constructor({ quota = Infinity, broken = false } = {}) {
    this.map = new Map();
    this.quota = quota;
    this.broken = broken;
    this.writes = 0;
  }

  check() {
    if (this.broken) throw new Error("SecurityError: storage is disabled");
  }

  get length() {
    this.check();
    return this.map.size;
  }

  key(i) {
    this.check();
    return i >= 0 && i < this.map.size ? [...this.map.keys()][i] : null;
  }

  getItem(key) {
    this.check();
    return this.map.has(String(key)) ? this.map.get(String(key)) : null;
  }

  setItem(key, value) {
    this.check();
    const k = String(key);
    const v = String(value);
    let used = k.length + v.length;
    for (const [other, stored] of this.map) if (other !== k) used += other.length + stored.length;
    if (used > this.quota) {
      const error = new Error("The quota has been exceeded.");
      error.name = "QuotaExceededError";
      throw error;
    }
    this.writes += 1;
    this.map.set(k, v);
  }

  removeItem(key) {
    this.check();
    this.map.delete(String(key));
  }

  clear() {
    this.check();
    this.map.clear();
  }
}

/** Run `code` with the project's Python (repo root as cwd), `input` as JSON on stdin; its stdout parsed as JSON. */
export function python(code, input = null) {
  const out = execFileSync(`${ROOT}.venv/bin/python`, ["-c", code], {
    cwd: ROOT,
    input: JSON.stringify(input),
    encoding: "utf8",
  });
  return JSON.parse(out);
}
