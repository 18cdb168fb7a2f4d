/**
 * Requests that travel up the action modules without importing them: a lower
 * module asks (`request("route")`), the module that owns the job answers it
 * (`answer("route", route)`, registered when that module loads). This keeps
 * the imports between action modules one-way (eslint's import-x/no-cycle).
 */

const answers = new Map();

/** Register the function that carries out `name` (one per name). */
export function answer(name, fn) {
  answers.set(name, fn);
}

/** Ask for `name` to be carried out; returns what the answering function returns. */
export function request(name, ...args) {
  const fn = answers.get(name);
  return fn ? fn(...args) : undefined;
}

/** Go to `path` (the hash route), e.g. `c/12` or `mine`; navigation.js answers "route". */
export function go(path) {
  const hash = `#/${path}`;
  if (location.hash !== hash) location.hash = hash;
  else request("route");
}
