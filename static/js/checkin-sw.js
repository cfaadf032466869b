// Service worker of the check-in page (served at /actions/checkin-sw.js so that its scope covers
// /actions/<id>/checkin). Network first, so an online door always sees the server's page; when the
// network fails, the last copy of the page and its scripts and styles from this cache.
const CACHE = "organizer-checkin-v1";
const CHECKIN_PAGE = /^\/actions\/\d+\/checkin$/;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

const cacheable = (url) => url.origin === self.location.origin
  && (url.pathname.startsWith("/static/") || CHECKIN_PAGE.test(url.pathname));
// The page is kept once, whatever its search: offline, the script searches the device's roster.
const keyOf = (url) => (CHECKIN_PAGE.test(url.pathname) ? url.origin + url.pathname : url.href);

const store = async (cache, url, response) => {
  // A redirect (to the login page when the session ended) is not the check-in page.
  if (response.ok && !response.redirected && response.type === "basic") await cache.put(keyOf(url), response.clone());
};

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (!cacheable(url)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(request);
      await store(cache, url, response);
      return response;
    } catch (error) {
      const cached = await cache.match(keyOf(url)) || await cache.match(keyOf(url), { ignoreSearch: true });
      if (cached) return cached;
      throw error;
    }
  })());
});

// The page opened before this worker controlled it: it sends its own address and assets to keep.
self.addEventListener("message", (event) => {
  if (!event.data || event.data.type !== "precache") return;
  const port = event.ports[0];
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    let kept = 0;
    for (const href of event.data.urls) {
      const url = new URL(href, self.location.origin);
      if (!cacheable(url)) continue;
      try {
        await store(cache, url, await fetch(url.href, { credentials: "same-origin" }));
        kept += 1;
      } catch (error) { /* offline already: what is cached stays */ }
    }
    if (port) port.postMessage({ kept });
  })());
});
