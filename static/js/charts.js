// Draws every <canvas data-chart='{"type":..., "data":..., "options":...}'> with Chart.js.
// Chart configuration travels as JSON in a data attribute, so pages need no inline script.
document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
  const config = JSON.parse(canvas.dataset.chart);
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false }, config.options || {});
  new Chart(canvas, config);
});
