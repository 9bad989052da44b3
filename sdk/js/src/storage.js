/**
 * Where the client keeps its session (tokens and their expiry). Any object with `get(key)`,
 * `set(key, value)` and `remove(key)` will do; each may return a value or a promise of it.
 */

/**
 * In memory, for this page or process only (the default: tokens out of reach of other scripts'
 * storage reads, gone on reload).
 */
export function memoryStorage() {
  const values = new Map();
  return {
    get: (key) => values.get(key),
    set: (key, value) => void values.set(key, value),
    remove: (key) => void values.delete(key),
  };
}

/**
 * A Web Storage area (`window.localStorage` or `window.sessionStorage`), values as JSON. Anything
 * stored there can be read by every script on the origin: keep XSS out before choosing it.
 * @param {import("./index.js").WebStorageArea} area
 */
export function browserStorage(area) {
  return {
    get(key) {
      const text = area.getItem(key);
      return text === null ? undefined : JSON.parse(text);
    },
    set: (key, value) => area.setItem(key, JSON.stringify(value)),
    remove: (key) => area.removeItem(key),
  };
}
