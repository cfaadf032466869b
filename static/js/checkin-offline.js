// The check-in page without a connection. The action's roster is kept in IndexedDB when the page
// opens; check-ins, undos and walk-ins go to an outbox in IndexedDB first, each with its own id
// (a UUID), and are sent to the server when it can be reached. The server applies an id once, so
// a sync repeated after a lost answer (or a tab closed mid-sync) counts nothing twice. Text comes
// translated from the page's data- attributes. Without IndexedDB the plain forms still work.
(() => {
  const root = document.getElementById("checkin");
  if (!root || !window.indexedDB) return;
  const data = root.dataset;
  const actionId = Number(data.actionId);
  // A shared phone: what another account kept or queued here is neither shown nor sent as this one's.
  const userId = Number(data.userId);
  const t = (key, vars = {}) => (data[key] || "").replace(/\{(\w+)\}/g, (m, name) => (name in vars ? vars[name] : m));
  const rsvpLabels = JSON.parse(data.rsvpLabels || "{}");
  let csrf = data.csrf;
  let roster = null; // {action_id, people: [...], count}
  let outbox = []; // this action's queued operations, oldest first
  let syncing = false;

  const $ = (id) => document.getElementById(id);
  const list = document.querySelector("[data-testid=checkin-results]");
  const counter = $("checkin-count");
  const search = $("q");
  const panel = $("checkin-sync");
  const state = $("checkin-sync-state");
  const message = $("checkin-sync-message");
  const queueList = $("checkin-queue");

  // --- IndexedDB ------------------------------------------------------------------------
  const opened = new Promise((resolve, reject) => {
    const request = indexedDB.open("organizer-checkin", 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore("rosters", { keyPath: "action_id" });
      db.createObjectStore("outbox", { keyPath: "id" }).createIndex("action_id", "action_id");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const run = async (storeName, mode, work) => {
    const db = await opened;
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(storeName, mode);
      const request = work(transaction.objectStore(storeName));
      transaction.oncomplete = () => resolve(request ? request.result : undefined);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  };
  const loadOutbox = async () => {
    const ops = await run("outbox", "readonly", (s) => s.index("action_id").getAll(actionId));
    outbox = ops.filter((op) => op.user_id === userId).sort((a, b) => a.seq - b.seq);
  };
  const putOp = (op) => run("outbox", "readwrite", (s) => s.put(op));
  const deleteOp = (id) => run("outbox", "readwrite", (s) => s.delete(id));
  const saveRoster = () => run("rosters", "readwrite", (s) => s.put(roster));

  const newId = () => {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  let lastSeq = 0;
  const nextSeq = () => { lastSeq = Math.max(Date.now(), lastSeq + 1); return lastSeq; };

  // --- what the door sees: the roster with the queued operations laid over it -------------
  const waiting = () => outbox.filter((op) => !op.failed);
  const pendingState = (personId) => {
    let here = null;
    for (const op of waiting()) if (op.person_id === personId) here = op.kind === "check_in";
    return here; // null: nothing queued for this person
  };
  const count = () => {
    let n = roster ? roster.count : Number(counter.textContent) || 0;
    const byId = new Map((roster ? roster.people : []).map((p) => [p.id, p]));
    for (const op of waiting()) {
      if (op.kind === "walk_in") n += 1;
      else {
        const person = byId.get(op.person_id);
        const was = person ? person.checked_in : false;
        if (op.kind === "check_in" && !was) n += 1;
        if (op.kind === "undo" && was) n -= 1;
      }
    }
    return Math.max(n, 0);
  };
  const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  const matches = (person, q) => {
    const digits = q.replace(/\D/g, "");
    if (digits.length >= 3 && person.digits.includes(digits)) return true;
    const name = fold(person.name);
    return fold(q).split(/\s+/).filter(Boolean).every((word) => name.includes(word));
  };
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const button = (className, text, label, onClick) => {
    const node = el("button", className, text);
    node.type = "button";
    if (label) node.setAttribute("aria-label", label);
    node.addEventListener("click", onClick);
    return node;
  };

  const renderList = () => {
    if (!roster || !list) return;
    const q = search ? search.value.trim() : "";
    const people = roster.people.filter((p) => {
      const queued = pendingState(p.id);
      if (q) return matches(p, q);
      return queued !== null || (p.rsvp === "yes" && !p.checked_in);
    });
    list.replaceChildren();
    for (const person of people.slice(0, 50)) {
      const queued = pendingState(person.id);
      const here = queued === null ? person.checked_in : queued;
      const item = el("li", "list-group-item d-flex justify-content-between align-items-center gap-2");
      const who = el("div");
      who.append(el("div", "fw-semibold", person.name));
      const details = [person.institutions.join(", ") || "—"];
      if (person.phone) details.push(person.phone);
      details.push(person.rsvp ? t("tRsvp", { answer: rsvpLabels[person.rsvp] || person.rsvp }) : t("tNoRsvp"));
      who.append(el("div", "small text-muted", details.join(" · ")));
      item.append(who);
      const side = el("div", "text-end");
      if (here) {
        side.append(el("span", queued === null ? "badge text-bg-success" : "badge text-bg-warning",
          queued === null ? t("tHere") : t("tPending")));
        side.append(button("btn btn-sm btn-link text-danger p-0 d-block ms-auto", t("tUndo"),
          t("tUndoName", { name: person.name }), () => queue({ kind: "undo", person_id: person.id, name: person.name })));
      } else {
        side.append(button("btn btn-lg btn-success", t("tCheckIn"), t("tCheckInName", { name: person.name }),
          () => queue({ kind: "check_in", person_id: person.id, name: person.name })));
      }
      item.append(side);
      list.append(item);
    }
    if (!people.length) list.append(el("li", "list-group-item text-muted", q ? t("tNobody") : t("tEveryone")));
  };

  const opLabel = (op) => {
    const kind = { check_in: "tCheckInOp", undo: "tUndoOp", walk_in: "tWalkIn" }[op.kind];
    return `${t(kind)}: ${op.name}`;
  };
  const renderQueue = () => {
    panel.hidden = false;
    const n = waiting().length;
    state.textContent = syncing ? t("tSyncing") : n === 0 ? t("tAllSynced") : n === 1 ? t("tWaitingOne") : t("tWaiting", { n });
    state.className = n === 0 ? "badge text-bg-success" : "badge text-bg-warning";
    root.dataset.waiting = String(n);
    queueList.replaceChildren();
    for (const op of outbox) {
      const item = el("li", op.failed ? "text-danger" : "text-muted", op.failed ? `${opLabel(op)}: ${op.failed}` : opLabel(op));
      if (op.failed) {
        item.append(" ");
        item.append(button("btn btn-sm btn-link p-0 align-baseline", t("tDismiss"), null, async () => {
          await deleteOp(op.id); await loadOutbox(); render();
        }));
      }
      queueList.append(item);
    }
    counter.textContent = String(count());
  };
  const render = () => { renderList(); renderQueue(); };
  let problem = false; // the message shown is a problem that a good sync clears
  const say = (text, isProblem = false) => { message.textContent = text; message.hidden = !text; problem = isProblem; };

  // --- queueing -------------------------------------------------------------------------
  const queue = async (op) => {
    // Undoing what has not been sent yet just takes it out of the queue.
    const opposite = op.kind === "undo" ? "check_in" : op.kind === "check_in" ? "undo" : null;
    const unsent = opposite && waiting().filter((o) => o.person_id === op.person_id && o.kind === opposite).pop();
    if (unsent) await deleteOp(unsent.id);
    else await putOp({ ...op, id: newId(), action_id: actionId, user_id: userId, seq: nextSeq() });
    await loadOutbox();
    render();
    if (navigator.onLine) sync();
  };

  const walkInForm = document.querySelector("form[data-walk-in]");
  if (walkInForm) {
    walkInForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const fields = new FormData(walkInForm);
      const value = (name) => String(fields.get(name) || "").trim();
      if (!value("first_name")) { say(`${t("tWalkIn")}: ${t("tInvalidName")}`, true); return; }
      const name = `${value("first_name")} ${value("last_name")}`.trim();
      await queue({ kind: "walk_in", name, first_name: value("first_name"), last_name: value("last_name"),
        phone: value("phone"), institution_id: value("institution_id") });
      say(t("tWelcome", { name }));
      walkInForm.reset();
    });
  }

  // --- the roster, from the server when it answers, else from the device -----------------
  const isJson = (response) => (response.headers.get("Content-Type") || "").includes("application/json");
  const fetchRoster = async (q = "") => {
    const url = q ? `${data.rosterUrl}?q=${encodeURIComponent(q)}` : data.rosterUrl;
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (response.redirected || !response.ok || !isJson(response)) throw new Error("roster");
    const body = await response.json();
    csrf = body.csrf_token;
    return body;
  };
  const refreshRoster = async () => {
    const body = await fetchRoster();
    roster = { action_id: actionId, user_id: userId, people: body.people, count: body.count, saved_at: Date.now() };
    await saveRoster();
  };

  if (search && search.form) {
    search.form.addEventListener("submit", async (event) => {
      if (!roster) return; // not loaded yet: the server's search
      event.preventDefault();
      renderList();
      const q = search.value.trim();
      if (!q || !navigator.onLine) return;
      try {
        // Online, the server also searches everyone this user may see (not only who answered);
        // whoever it finds joins the device's roster, so a second look works offline too.
        const body = await fetchRoster(q);
        const known = new Set(roster.people.map((p) => p.id));
        for (const person of body.people) if (!known.has(person.id)) roster.people.push(person);
        await saveRoster();
        renderList();
      } catch (error) { /* offline after all: the device's roster is what there is */ }
    });
    search.addEventListener("input", () => { if (roster) renderList(); });
  }

  // --- syncing ------------------------------------------------------------------------------
  const REASONS = { not_found: "tNotFound", phone: "tInvalidPhone", first_name: "tInvalidName" };
  // A request that got no answer at all: offline, whatever navigator.onLine says (it only knows
  // that the device has a network: a phone on a Wi-Fi with no internet, or a page reloaded while
  // offline in some browsers, reports "online").
  class NoNetwork extends Error {}
  const OFFLINE_RETRY_MS = 3000;
  let retry = null;
  const post = async (ops) => {
    try {
      return await fetch(data.syncUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ ops: ops.map(({ seq, failed, action_id, user_id, ...op }) => op) }),
      });
    } catch (error) {
      throw new NoNetwork(String(error));
    }
  };
  const sync = async () => {
    if (syncing) return;
    const ops = waiting();
    if (!ops.length) return;
    syncing = true;
    renderQueue();
    try {
      let response = await post(ops);
      if (response.status === 400 && !isJson(response)) {
        // The token expired (a page opened from the device's cache): a fresh one, and once more.
        try { await refreshRoster(); } catch (error) { say(t("tLogin"), true); return; }
        response = await post(ops);
      }
      if (response.redirected || [400, 401, 403].includes(response.status) || !isJson(response)) {
        say(t("tLogin"), true);
        return;
      }
      if (!response.ok) throw new Error(String(response.status));
      const body = await response.json();
      for (const result of body.results) {
        const op = outbox.find((o) => o.id === result.id);
        if (!op) continue;
        if (result.ok) await deleteOp(op.id);
        else await putOp({ ...op, failed: t(REASONS[result.error] || REASONS[result.status] || "tInvalid") });
      }
      if (problem) say("");
      try { await refreshRoster(); } catch (error) { roster.count = body.count; }
    } catch (error) {
      const offline = error instanceof NoNetwork || !navigator.onLine;
      say(offline ? t("tOffline") : t("tFailed"), true);
      // The network's return is not always announced (no "online" event when the browser never
      // said it was offline): look again in a few seconds rather than at the next half minute.
      if (offline) {
        clearTimeout(retry);
        retry = setTimeout(sync, OFFLINE_RETRY_MS);
      }
    } finally {
      syncing = false;
      await loadOutbox();
      render();
    }
  };
  $("checkin-sync-button").addEventListener("click", () => { say(""); sync(); });
  window.addEventListener("online", () => sync());
  window.addEventListener("offline", () => say(t("tOffline"), true));
  setInterval(() => { if (navigator.onLine) sync(); }, 30000);

  // --- the page itself, kept for offline by the service worker -------------------------------
  const keepPageOffline = async () => {
    if (!("serviceWorker" in navigator)) return;
    try {
      await navigator.serviceWorker.register(data.swUrl, { scope: data.swScope });
      const registration = await navigator.serviceWorker.ready;
      const urls = [location.pathname,
        ...[...document.querySelectorAll("script[src]")].map((s) => s.src),
        ...[...document.querySelectorAll("link[rel=stylesheet]")].map((l) => l.href)];
      const channel = new MessageChannel();
      const done = new Promise((resolve) => { channel.port1.onmessage = resolve; });
      registration.active.postMessage({ type: "precache", urls }, [channel.port2]);
      await done;
      root.dataset.offlineReady = "yes";
    } catch (error) { /* no service worker (private window, old browser): online only */ }
  };

  (async () => {
    await loadOutbox();
    try {
      await refreshRoster();
    } catch (error) {
      const saved = await run("rosters", "readonly", (s) => s.get(actionId));
      if (saved && saved.user_id === userId) roster = saved;
      say(t("tOffline"), true);
    }
    render();
    root.dataset.ready = "yes";
    if (navigator.onLine) sync();
    keepPageOffline();
  })();
})();
