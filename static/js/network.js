// Draws the relational network (/pipeline/network) with the vendored Cytoscape.js: the graph
// JSON the page carries in the box's data-graph (else fetched from its data-url, the page's own
// filters), laid out. Names reach
// the page only through textContent, never as HTML. The tables beside the graph list the same
// connectors and bridges for phones and browsers without JavaScript.
(function () {
  "use strict";
  const box = document.querySelector("[data-network]");
  if (!box || typeof cytoscape !== "function") return;
  const picked = document.querySelector("[data-network-picked]");
  // The same palette as .network-c0 ... .network-c9 in relational.css (the legend's swatches).
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                   "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
  const OTHER = "#c8c8c8", ACCOUNT = "#212529", BRIDGE = "#d63384";

  function say(text) {
    const p = document.createElement("p");
    p.className = "text-muted small p-3 mb-0";
    p.textContent = text;
    box.replaceChildren(p);
  }

  function show(node) {
    picked.replaceChildren();
    const url = node.data("url");
    const name = document.createElement(url ? "a" : "strong");
    name.textContent = node.data("label");
    if (url) { name.href = url; name.title = box.dataset.open; }
    picked.append(name);
    if (!url) picked.append(" (" + box.dataset.account + ")");
  }

  function draw(graph) {
    if (!graph.nodes.length) { say(box.dataset.empty); return; }
    const elements = graph.nodes.map((n) => ({
      data: { id: n.id, label: n.label, url: n.url, degree: n.degree,
              color: n.account ? ACCOUNT : (n.group === null ? OTHER : PALETTE[n.group % PALETTE.length]) },
      classes: [n.connector ? "connector" : "", n.account ? "account" : ""].join(" ").trim(),
    })).concat(graph.edges.map((e, i) => ({
      data: { id: "e" + i, source: e.source, target: e.target, weight: e.weight },
      classes: e.bridge ? "bridge" : "",
    })));
    box.replaceChildren();  // the "Drawing…" note
    const cy = cytoscape({
      container: box,
      elements: elements,
      minZoom: 0.05,
      maxZoom: 4,
      style: [
        { selector: "node", style: { "background-color": "data(color)", width: 10, height: 10, "border-width": 0 } },
        { selector: "node.connector", style: { width: 22, height: 22, "border-width": 2, "border-color": "#000",
                                                label: "data(label)", "font-size": 9, "text-valign": "bottom" } },
        { selector: "node.account", style: { shape: "round-rectangle", width: 16, height: 16,
                                              label: "data(label)", "font-size": 9, "text-valign": "bottom" } },
        { selector: "node:selected", style: { "border-width": 3, "border-color": "#0d6efd", label: "data(label)" } },
        { selector: "edge", style: { width: "mapData(weight, 1, 10, 1, 4)", "line-color": "#adb5bd", opacity: 0.7,
                                     "curve-style": "haystack" } },
        { selector: "edge.bridge", style: { width: "mapData(weight, 1, 10, 3, 7)", "line-color": BRIDGE, opacity: 0.9 } },
      ],
      // Force-directed, not animated (the server keeps at most a couple of hundred nodes); each
      // step costs the square of the nodes, so a large drawing takes fewer steps.
      layout: { name: "cose", animate: false, randomize: true, numIter: graph.nodes.length > 120 ? 120 : 250,
                nodeRepulsion: () => 6000,
                idealEdgeLength: () => 40, gravity: 1.2, componentSpacing: 40 },
    });
    cy.on("tap", "node", (event) => show(event.target));
    box.dataset.nodes = String(cy.nodes().length);
    box.dataset.edges = String(cy.edges().length);
  }

  // The page carries its graph; fetching it (the same filters) is for a page without it.
  if (box.dataset.graph) {
    try { draw(JSON.parse(box.dataset.graph)); } catch (error) { say(box.dataset.error); }
    return;
  }
  fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then((r) => { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
    .then(draw)
    .catch(() => say(box.dataset.error));
})();
