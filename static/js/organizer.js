// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) { event.preventDefault(); return; }
  // Long work (an import, a check of a large file): say so, and do not let a second click resend.
  const busy = event.target.dataset.busy;
  const button = event.target.querySelector("button[type=submit]");
  if (busy && button) {
    button.disabled = true;
    button.replaceChildren();
    const spinner = document.createElement("span");
    spinner.className = "spinner-border spinner-border-sm me-2";
    spinner.setAttribute("aria-hidden", "true");
    button.append(spinner, document.createTextNode(busy));
    event.target.setAttribute("aria-busy", "true");
  }
});
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-check-all]");
  if (!toggle) return;
  document.querySelectorAll(toggle.dataset.checkAll).forEach((box) => { box.checked = toggle.checked; });
});

// Logging out on a shared phone: the check-in page kept the action's roster (names, phones,
// answers) and a copy of the page on this device for the door without a network. They go with
// the session, so the next person to pick up the phone cannot read them from the browser's
// storage. Check-ins not yet sent stay queued (nothing counted is lost): the page sends them
// once somebody logs in again. The form is sent whatever happens, within a second at most.
const forgetCheckinRosters = () => new Promise((resolve) => {
  if (!window.indexedDB) { resolve(); return; }
  const request = indexedDB.open("organizer-checkin");
  // No such database on this device: abort, rather than create an empty one the check-in
  // page would then open without its stores.
  request.onupgradeneeded = () => request.transaction.abort();
  request.onerror = () => resolve();
  request.onblocked = () => resolve();
  request.onsuccess = () => {
    const db = request.result;
    if (!db.objectStoreNames.contains("rosters")) { db.close(); resolve(); return; }
    const transaction = db.transaction("rosters", "readwrite");
    transaction.objectStore("rosters").clear();
    transaction.oncomplete = transaction.onerror = transaction.onabort = () => { db.close(); resolve(); };
  };
});
const forgetCheckinPages = async () => {
  if (!window.caches) return;
  const cache = await caches.open("organizer-checkin-v1");
  for (const request of await cache.keys()) {
    if (/^\/actions\/\d+\/checkin$/.test(new URL(request.url).pathname)) await cache.delete(request);
  }
};
const forgetDevice = () => Promise.allSettled([forgetCheckinRosters(), forgetCheckinPages()]);
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("[data-forget-device]") || event.defaultPrevented) return;
  event.preventDefault();
  const cleared = forgetDevice();
  const enough = new Promise((resolve) => { setTimeout(resolve, 1000); });
  Promise.race([cleared, enough]).then(() => form.submit());
});

// A session that ended without a log-out (idle too long, or signed out from another device)
// lands on the login page: what the check-in page kept on this device goes then, as on a
// log-out. (Offline, the door keeps working until then: that is what it was kept for.)
if (document.querySelector("[data-forget-device-now]")) {
  forgetDevice().then(() => { document.documentElement.dataset.deviceForgotten = "yes"; });
}
