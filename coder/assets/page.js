
(function () {
  "use strict";
  // Objects without a prototype: a code id, label or documents.csv value such as "constructor" or
  // "__proto__" is then a key like any other, never a built-in of Object.
  var data = JSON.parse(document.getElementById("coder-data").textContent, function (key, value) {
    return value && typeof value === "object" && !Array.isArray(value) ? Object.assign(Object.create(null), value) : value;
  });
  // A node is named by its place, never by its code id: vis-network keeps nodes in plain objects, where
  // an id such as "__proto__" or "constructor" is not a key like the others.
  var nodeOfCode = Object.create(null);
  data.nodes.forEach(function (node, position) { node.code = node.id; node.id = "c" + position; nodeOfCode[node.code] = node.id; });
  data.edges.forEach(function (edge) { edge.from = nodeOfCode[edge.from]; edge.to = nodeOfCode[edge.to]; });
  window.coderNode = function (code) { return nodeOfCode[code]; };
  var container = document.getElementById("coder-network");
  var tooltip = document.getElementById("coder-tooltip");
  window.coderReady = false;

  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function number(value, digits) {
    return typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(digits || 3)) : String(value);
  }
  function passage(example) {
    var box = element("div", null, "example");
    box.appendChild(element("div", example.where, "where"));
    var text = element("div");
    example.pieces.forEach(function (piece) {
      text.appendChild(piece[1] ? element("mark", piece[0]) : document.createTextNode(piece[0]));
    });
    box.appendChild(text);
    return box;
  }

  document.getElementById("coder-summary").textContent = data.summary;
  var legend = document.querySelector("#coder-legend ul");
  data.legend.forEach(function (entry) {
    var item = element("li");
    var swatch = element("span", null, "swatch");
    swatch.style.background = entry.color;
    item.appendChild(swatch);
    item.appendChild(element("span", entry.name + " (" + entry.count + ")"));
    legend.appendChild(item);
  });
  if (data.message) {
    var banner = document.getElementById("coder-message");
    banner.textContent = data.message;
    if (data.nodes.length) banner.className = "notice";
    banner.hidden = false;
  }
  var datalist = document.getElementById("coder-codes");
  data.nodes.forEach(function (node) {
    var option = document.createElement("option");
    option.value = node.label;
    datalist.appendChild(option);
  });

  var nodes = new vis.DataSet(data.nodes);
  var edges = new vis.DataSet(data.edges);
  var options = {
    autoResize: true,
    nodes: { shape: "dot", scaling: { min: 8, max: 42, label: { enabled: true, min: 12, max: 22 } },
             font: { size: 13, face: "system-ui, sans-serif", strokeWidth: 3, strokeColor: "#ffffff" },
             borderWidth: 1 },
    edges: { color: { color: "rgba(120,120,120,0.35)", highlight: "#333333", hover: "#333333" },
             scaling: { min: 1, max: 9 }, smooth: false, selectionWidth: 1.5, hoverWidth: 1 },
    interaction: { hover: true, tooltipDelay: 120, hideEdgesOnDrag: data.edges.length > 2000,
                   hideEdgesOnZoom: data.edges.length > 2000, multiselect: false },
    physics: data.physics ? { enabled: true, solver: "forceAtlas2Based",
                              forceAtlas2Based: { gravitationalConstant: -110, springLength: 150, avoidOverlap: 0.6 },
                              stabilization: { enabled: true, iterations: 300, updateInterval: 50 } }
                          : { enabled: false },
    layout: { improvedLayout: false }
  };
  var network = new vis.Network(container, { nodes: nodes, edges: edges }, options);
  window.coderNetwork = network;

  var settled = false;
  function settle() {
    if (settled) return;
    settled = true;
    network.setOptions({ physics: { enabled: false } });
    network.once("afterDrawing", function () { window.coderReady = true; });
    network.fit({ animation: false });
    network.redraw();
  }
  if (data.physics && data.nodes.length > 1) {
    network.once("stabilizationIterationsDone", settle);
    network.once("stabilized", settle);
    setTimeout(settle, 10000);
  } else {
    settle();
  }

  function nodeTip(id) {
    var info = nodes.get(id).info;
    var box = element("div");
    box.appendChild(element("h3", info.label));
    box.appendChild(element("div", info.path + (info.top && info.top !== info.label ? "  ·  " + info.top : ""), "path"));
    if (info.description) box.appendChild(element("p", info.description, "description"));
    box.appendChild(element("p", info.passages + " passage(s) in " + info.documents + " document(s) · " +
      info.degree + " link(s) · weighted degree " + number(info.weighted_degree) + " · betweenness " +
      number(info.betweenness) + " · community " + info.community, "counts"));
    info.examples.forEach(function (example) { box.appendChild(passage(example)); });
    return box;
  }
  function edgeTip(id) {
    var info = edges.get(id).info;
    var box = element("div");
    box.appendChild(element("h3", info.source + " — " + info.target));
    box.appendChild(element("p", info.count + " shared passage(s) in " + info.documents + " document(s)", "counts"));
    box.appendChild(element("p", "Jaccard " + number(info.jaccard) + " · association " + number(info.association) +
      " · NPMI " + number(info.npmi), "counts"));
    if (info.example) box.appendChild(passage(info.example));
    return box;
  }
  window.coderTooltips(network, container, tooltip, nodeTip, edgeTip);

  var original = Object.create(null);
  data.nodes.forEach(function (node) { original[node.id] = node.color; });
  var highlighted = false;
  function highlight(id) {
    var keep = Object.create(null);
    keep[id] = true;
    network.getConnectedNodes(id).forEach(function (other) { keep[other] = true; });
    nodes.update(data.nodes.map(function (node) {
      return { id: node.id, color: keep[node.id] ? original[node.id] : "rgba(200,200,200,0.5)",
               font: { color: keep[node.id] ? "#222222" : "#bbbbbb" } };
    }));
    network.selectNodes([id]);
    highlighted = true;
  }
  function clear() {
    if (!highlighted) return;
    nodes.update(data.nodes.map(function (node) { return { id: node.id, color: original[node.id], font: { color: "#222222" } }; }));
    network.unselectAll();
    highlighted = false;
  }
  network.on("click", function (event) {
    if (event.nodes.length) highlight(event.nodes[0]); else clear();
  });

  var search = document.getElementById("coder-search");
  function find() {
    var query = search.value.trim().toLowerCase();
    if (!query) { clear(); return; }
    var found = data.nodes.filter(function (node) { return String(node.label).toLowerCase() === query || String(node.code).toLowerCase() === query; });
    if (!found.length) found = data.nodes.filter(function (node) { return String(node.label).toLowerCase().indexOf(query) >= 0; });
    if (!found.length) return;
    highlight(found[0].id);
    network.focus(found[0].id, { scale: 1.2, animation: false });
  }
  search.addEventListener("change", find);
  search.addEventListener("keydown", function (event) { if (event.key === "Enter") find(); });
})();
