/**
 * Where the client keeps its session (tokens and their expiry). Any object with `get(key)`,
 * `set(key, value)` and `remove(key)` will do; each may return a value or a promise of it. One
 * shared by several tabs may add `changed(key, ms)`: a promise settled when another tab changed
 * `key`, or after `ms`, so a tab that waited for another's renewal reads the renewed session.
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
    changed: (key, ms) => storageEvent(area, key, ms),
  };
}

/**
 * Resolves once another tab has changed `key` in `area` (its `storage` event, dispatched after
 * this tab's copy is updated: Chromium passes writes between tabs asynchronously), or after `ms`.
 */
function storageEvent(area, key, ms) {
  if (typeof window === 'undefined' || typeof window.addEventListener !== 'function') {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener('storage', onStorage);
      resolve();
    };
    const onStorage = (event) => {
      if (event.storageArea === area && event.key === key) done();
    };
    const timer = setTimeout(done, ms);
    window.addEventListener('storage', onStorage);
  });
}
