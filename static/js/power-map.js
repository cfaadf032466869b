// Draws the relationships between targets as lines over the power map's grid. The table of
// relationships under the map is the data (rows with data-tie-from/-to/-kind/-strength), so a
// phone or a reader without JavaScript reads the same thing as a table.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const grid = document.querySelector(".power-grid");
  const svg = grid && grid.querySelector("svg.tie-lines");
  const rows = document.querySelectorAll("tr[data-tie-from]");
  if (!svg || !rows.length) return;

  // Where the segment from a box's centre toward (dx, dy) leaves the box: lines stop at the cards' edges.
  function edge(box, dx, dy) {
    const halfW = box.width / 2, halfH = box.height / 2;
    const t = Math.min(dx ? halfW / Math.abs(dx) : Infinity, dy ? halfH / Math.abs(dy) : Infinity);
    return t < 1 ? t : 1;
  }

  function arrowFor(kind, defs) {
    const id = "tie-arrow-" + kind;
    if (!svg.querySelector("#" + id)) {
      const marker = document.createElementNS(SVG, "marker");
      marker.setAttribute("id", id);
      marker.setAttribute("viewBox", "0 0 10 10");
      marker.setAttribute("refX", "9");
      marker.setAttribute("refY", "5");
      marker.setAttribute("markerUnits", "userSpaceOnUse");  // the same size whatever the line's width
      marker.setAttribute("markerWidth", "12");
      marker.setAttribute("markerHeight", "12");
      marker.setAttribute("orient", "auto-start-reverse");
      const head = document.createElementNS(SVG, "path");
      head.setAttribute("d", "M0,0 L10,5 L0,10 z");
      head.setAttribute("class", "tie-arrow tie-" + kind);
      marker.appendChild(head);
      defs.appendChild(marker);
    }
    return "url(#" + id + ")";
  }

  function draw() {
    const origin = grid.getBoundingClientRect();
    svg.replaceChildren();
    svg.setAttribute("width", grid.scrollWidth);
    svg.setAttribute("height", grid.scrollHeight);
    const defs = document.createElementNS(SVG, "defs");
    svg.appendChild(defs);
    // Two relationships between the same pair (family and donor) are drawn side by side.
    const pairs = {};
    const pairOf = (row) => [row.dataset.tieFrom, row.dataset.tieTo].sort().join("-");
    rows.forEach((row) => { pairs[pairOf(row)] = (pairs[pairOf(row)] || 0) + 1; });
    const drawn = {};
    rows.forEach((row) => {
      const from = grid.querySelector('.target-card[data-target-id="' + row.dataset.tieFrom + '"]');
      const to = grid.querySelector('.target-card[data-target-id="' + row.dataset.tieTo + '"]');
      if (!from || !to) return;
      const a = from.getBoundingClientRect(), b = to.getBoundingClientRect();
      const ax = a.left + a.width / 2 - origin.left, ay = a.top + a.height / 2 - origin.top;
      const bx = b.left + b.width / 2 - origin.left, by = b.top + b.height / 2 - origin.top;
      const dx = bx - ax, dy = by - ay;
      const ta = edge(a, dx, dy), tb = edge(b, dx, dy);
      const pair = pairOf(row), index = drawn[pair] = (drawn[pair] || 0) + 1;
      const length = Math.hypot(dx, dy) || 1;
      // 6px apart, perpendicular to the line, centred on it; the same side whichever way a tie reads.
      const sign = row.dataset.tieFrom < row.dataset.tieTo ? 1 : -1;
      const shift = (index - (pairs[pair] + 1) / 2) * 6 * sign;
      const ox = -dy / length * shift, oy = dx / length * shift;
      const line = document.createElementNS(SVG, "line");
      line.setAttribute("x1", ax + dx * ta + ox);
      line.setAttribute("y1", ay + dy * ta + oy);
      line.setAttribute("x2", bx - dx * tb + ox);
      line.setAttribute("y2", by - dy * tb + oy);
      const kind = row.dataset.tieKind;
      line.setAttribute("class", "tie-line tie-" + kind + " tie-strength-" + row.dataset.tieStrength);
      line.setAttribute("data-tie-from", row.dataset.tieFrom);
      line.setAttribute("data-tie-to", row.dataset.tieTo);
      if (row.dataset.tieDirected) line.setAttribute("marker-end", arrowFor(kind, defs));
      svg.appendChild(line);
    });
  }

  draw();
  if ("ResizeObserver" in window) new ResizeObserver(draw).observe(grid);
  else window.addEventListener("resize", draw);
})();
