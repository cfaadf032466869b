// A large people import runs in the worker: poll its progress, move the bar, and reload the
// page (which then shows the outcome) when it is done or failed.
(() => {
  const box = document.querySelector("[data-import-progress]");
  if (!box) return;
  const meter = box.querySelector("[role=progressbar]");
  const bar = box.querySelector("[data-progress-bar]");
  const show = (percent) => {
    meter.setAttribute("aria-valuenow", String(percent));
    bar.style.width = `${percent}%`;
    bar.textContent = `${percent}%`;
  };
  show(Number(meter.getAttribute("aria-valuenow")) || 0);
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.importProgress, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const progress = await response.json();
        if (progress.state === "done" || progress.state === "failed") {
          window.location.reload();
          return;
        }
        if (progress.total) show(Math.floor((100 * (progress.done || 0)) / progress.total));
      }
    } catch (error) {
      // the network hiccuped: try again at the next tick
    }
    window.setTimeout(poll, 1000);
  };
  window.setTimeout(poll, 1000);
})();
