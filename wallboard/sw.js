// The crew page's service worker: the page and its files are cached so the page opens
// with no signal; API reads are network-first with the last answer as a fallback.
// Posting events is the page's own offline queue, not this worker's.
const CACHE = "faultline-crew-v1";
const SHELL = ["/crew", "/static/faultline.js", "/static/crew.js", "/static/crew.css", "/static/icon.svg", "/manifest.webmanifest"];

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname === "/api/v1/stream") return;
  const cacheable = SHELL.includes(url.pathname) || ["/api/v1/network", "/api/v1/orders", "/api/v1/crews"].includes(url.pathname);
  if (!cacheable) return;
  // The cache key ignores the query (the token), so one entry per path.
  const key = url.origin + url.pathname;
  e.respondWith(
    fetch(e.request)
      .then((resp) => {
        if (resp.ok) { const copy = resp.clone(); caches.open(CACHE).then((c) => c.put(key, copy)); }
        return resp;
      })
      .catch(() => caches.match(key).then((hit) => hit || Response.error())),
  );
});
