// Draws every <canvas data-chart='{"type":..., "data":..., "options":...}'> with Chart.js.
// Chart configuration travels as JSON in a data attribute, so pages need no inline script.

// A group's name in lines of at most `width` characters, two lines at most ("…" where cut).
function wrappedLabel(label, width) {
  const lines = [];
  for (const word of String(label).split(" ")) {
    const last = lines.length - 1;
    if (last >= 0 && (lines[last] + " " + word).length <= width) lines[last] += " " + word;
    else lines.push(word);
  }
  return lines.length > 2 ? [lines[0], lines[1].slice(0, width - 1) + "…"] : lines;
}

document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
  const config = JSON.parse(canvas.dataset.chart);
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false }, config.options || {});
  // On a phone the names beside horizontal bars were cut at the screen's edge ("…icano/a o
  // nativo/a de Alaska"): there they wrap onto two lines in at most 40% of the chart's width,
  // every one shown. The table beside the chart and the tooltips keep the whole names.
  if (config.options.indexAxis === "y" && canvas.parentElement.clientWidth < 576) {
    const width = Math.max(10, Math.floor(canvas.parentElement.clientWidth * 0.4 / 7));
    const scales = config.options.scales = Object.assign({}, config.options.scales);
    const y = scales.y = Object.assign({}, scales.y);
    y.ticks = Object.assign({
      autoSkip: false,
      callback(value) { return wrappedLabel(this.getLabelForValue(value), width); },
    }, y.ticks);
  }
  new Chart(canvas, config);
});
