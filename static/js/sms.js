// Texting pages: a live progress bar and a live compose preview. Both pages work without it
// (the progress page has a refresh link; the compose page shows the numbers after saving).
(function () {
  "use strict";

  function updateBar(bar, data) {
    const inner = bar.querySelector(".progress-bar");
    inner.style.width = data.percent + "%";
    inner.textContent = data.percent + "%";
    bar.setAttribute("aria-valuenow", data.percent);
    const text = bar.parentElement.querySelector("[data-progress-text]");
    if (text) text.textContent = text.textContent.replace(/\d+(\D+)\d+/, data.processed + "$1" + data.total);
    const hold = document.querySelector("[data-hold]");
    if (hold && data.hold !== undefined) {
      hold.textContent = data.hold;
      hold.classList.toggle("d-none", !data.hold);
    }
    document.querySelectorAll("[data-count]").forEach((cell) => {
      const value = data[cell.dataset.count];
      if (value !== undefined) cell.textContent = value;
    });
  }

  document.querySelectorAll("[data-progress-url]").forEach((bar) => {
    const poll = () => {
      fetch(bar.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((data) => {
          updateBar(bar, data);
          if (data.status === "sending" || data.status === "scheduled") window.setTimeout(poll, 2000);
        })
        .catch(() => window.setTimeout(poll, 10000));
    };
    window.setTimeout(poll, 1000);
  });

  const form = document.getElementById("compose-form");
  const panel = document.getElementById("preview");
  if (form && panel) {
    const labels = JSON.parse(panel.dataset.labels || "{}");
    const show = (name, value) => {
      const el = panel.querySelector('[data-preview="' + name + '"]');
      if (el) el.textContent = value;
    };
    let timer = null;
    const refresh = () => {
      const params = new URLSearchParams(new FormData(form));
      params.delete("csrf_token");
      // The preview URL may carry the draft being edited (?mobilization_id=): add the fields to it.
      const url = new URL(form.dataset.previewUrl, window.location.href);
      params.forEach((value, key) => url.searchParams.append(key, value));
      fetch(url.toString(), { credentials: "same-origin" })
        .then((r) => r.json())
        .then((p) => {
          show("sample", p.sample);
          show("encoding", p.encoding + (p.non_gsm.length ? " (" + p.non_gsm.join(" ") + ")" : ""));
          show("characters", p.characters);
          show("segments", p.segments);
          show("recipients", p.recipients);
          show("cost", p.cost);
          show("excluded", Object.entries(p.excluded).filter(([, n]) => n).map(([k, n]) => n + " " + (labels[k] || k)).join(", ") || "0");
          show("error", p.error || "");
        });
    };
    form.addEventListener("input", () => { window.clearTimeout(timer); timer = window.setTimeout(refresh, 300); });
    form.addEventListener("change", refresh);
    refresh();
  }
})();
