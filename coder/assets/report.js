(function () {
  "use strict";
  // Every text from the corpus, the codebook or documents.csv reaches the page through
  // textContent, text nodes, property values or canvas text: never as markup.
  // Objects without a prototype: a code id, label or documents.csv value such as "constructor" or
  // "__proto__" is then a key like any other, never a built-in of Object.
  var data = JSON.parse(document.getElementById("coder-data").textContent, function (key, value) {
    return value && typeof value === "object" && !Array.isArray(value) ? Object.assign(Object.create(null), value) : value;
  });
  var NONE = Object.freeze(Object.create(null));
  window.coderReady = false;
  var FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial, "Noto Sans CJK SC", ' +
    '"Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif';
  var FONT_SIZE = 14, MATRIX_MAX = 60, COLUMNS_MAX = 40, LIST_MAX = 500, KWIC_MAX = 2000, CONTEXT = 60;
  var MAX_DRAWN = 50000, OVERLAP_MAX_CODES = 600;
  var MEASURE_NAMES = { jaccard: "Jaccard", association: "association strength", npmi: "NPMI", count: "count" };
  var codes = data.codes, M = codes.length;
  var codeIndex = Object.create(null);
  codes.forEach(function (code, position) { codeIndex[code.id] = position; });
  // The map's node of a code is named by the code's place, never by its id: vis-network keeps nodes in
  // plain objects, where an id such as "__proto__" or "constructor" is not a key like the others.
  function nodeOf(code) { return "c" + code; }
  function codeOfNode(id) { return Number(String(id).slice(1)); }
  var state = {
    measure: data.defaults.measure, min_count: data.defaults.min_count, top_edges: data.defaults.top_edges,
    weak: data.defaults.weak, level: data.defaults.level, hide_isolated: data.defaults.hide_isolated,
    color_by: data.defaults.color_by, group: "", view: "map", matrixOrder: "codebook", matrixSort: null,
    columns: "documents"
  };

  // --- small helpers --------------------------------------------------------------------------
  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function plural(count, noun, nouns) { return count.toLocaleString("en") + " " + (count === 1 ? noun : (nouns || noun + "s")); }
  function number(value, digits) {
    if (typeof value !== "number") return String(value);
    if (Number.isInteger(value)) return String(value);
    return value.toFixed(digits === undefined ? 3 : digits);
  }
  function where(record) { return data.documents[record[0]] + " ¶" + record[1]; }
  // Past a size the page lists a seeded sample of the coded passages; every count is of all of them.
  function sampleNote() {
    return "a sample of " + data.sample.shown.toLocaleString("en") + " of the " + plural(data.sample.coded, "coded passage") +
      " (" + data.sample.per_code + " per code, the rest drawn with seed " + data.sample.seed + "); counts are of all passages";
  }
  // Leftmost, then longest, case-insensitive occurrences of words in text, as [start, end) spans.
  function spans(text, words) {
    var lowered = text.toLowerCase(), same = lowered.length === text.length, found = [];
    words.forEach(function (word) {
      if (!word || !word.trim()) return;
      var haystack = same ? lowered : text, needle = same ? word.toLowerCase() : word;
      var start = haystack.indexOf(needle);
      while (start !== -1) { found.push([start, start + needle.length]); start = haystack.indexOf(needle, start + 1); }
    });
    found.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var kept = [];
    found.forEach(function (span) { if (!kept.length || span[0] >= kept[kept.length - 1][1]) kept.push(span); });
    return kept;
  }
  function marked(text, words) {
    var box = element("div"), position = 0;
    spans(text, words).forEach(function (span) {
      if (span[0] > position) box.appendChild(document.createTextNode(text.slice(position, span[0])));
      box.appendChild(element("mark", text.slice(span[0], span[1])));
      position = span[1];
    });
    if (position < text.length) box.appendChild(document.createTextNode(text.slice(position)));
    return box;
  }
  function download(name, url) {
    var link = document.createElement("a");
    link.download = name;
    link.href = url;
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  // --- counts and measures, per level and group, computed here from the code sets ----------------
  // data.sets holds every coded passage (passages coded alike, in one document, are one entry with
  // their number); data.passages holds the passages listed, all of them or a sample (data.sample).
  function rollUp(level) {
    return codes.map(function (code) {
      return level === 0 ? codeIndex[code.id] : codeIndex[code.path[Math.min(level, code.path.length) - 1]];
    });
  }
  function groupFilter(group) {
    if (!group) return null;
    var cut = group.indexOf("\u0000"), values = data.variables[group.slice(0, cut)], wanted = group.slice(cut + 1);
    return data.documents.map(function (name, position) { return String(values[position]) === wanted; });
  }
  function groupPassages(group, counted) {
    var cut = group.indexOf("\u0000"), totals = (data.group_passages || {})[group.slice(0, cut)];
    var total = totals ? totals[group.slice(cut + 1)] : undefined;
    return typeof total === "number" && total >= counted ? total : counted;
  }
  // A label as the map draws it: at most MAP_LABEL characters (a 415-character label ran across the whole map);
  // the tooltip, the side panel and the tables give it whole.
  var MAP_LABEL = 48;
  function mapLabel(label) {
    var chars = Array.from(label);  // by characters, not UTF-16 units: no emoji cut in half
    if (chars.length <= MAP_LABEL) return label;
    return chars.slice(0, MAP_LABEL - 1).join("") + "\u2026" + (chars[0] === "\u2068" ? "\u2069" : "");  // an isolate stays closed
  }
  var statsCache = Object.create(null);
  function stats() {
    var key = state.level + "\u0000" + state.group;
    if (statsCache[key]) return statsCache[key];
    var roll = rollUp(state.level), keep = groupFilter(state.group);
    var present = [], isPresent = new Uint8Array(M);
    codes.forEach(function (code, position) {
      if (code.own && !isPresent[roll[position]]) { isPresent[roll[position]] = 1; present.push(roll[position]); }
    });
    present.sort(function (a, b) { return a - b; });
    var passages = new Int32Array(M), documents = new Int32Array(M), lastDocument = new Int32Array(M).fill(-1);
    var seen = new Int32Array(M).fill(-1), pairs = new Map(), included = [], counted = 0;
    data.sets.forEach(function (set, number) {
      if (keep && !keep[set[0]]) return;
      var weight = set[1], rolled = [];
      counted += weight;
      set[2].forEach(function (code) {
        var target = roll[code];
        if (seen[target] !== number) { seen[target] = number; rolled.push(target); }
      });
      rolled.sort(function (a, b) { return a - b; });
      for (var i = 0; i < rolled.length; i++) {
        var a = rolled[i];
        passages[a] += weight;
        if (lastDocument[a] !== set[0]) { lastDocument[a] = set[0]; documents[a]++; }
        for (var j = i + 1; j < rolled.length; j++) {
          var pairKey = a * M + rolled[j], pair = pairs.get(pairKey);
          if (!pair) { pair = { a: a, b: rolled[j], count: 0, documents: 0, last: -1 }; pairs.set(pairKey, pair); }
          pair.count += weight;
          if (pair.last !== set[0]) { pair.last = set[0]; pair.documents++; }
        }
      }
    });
    data.passages.forEach(function (record, number) { if (!keep || keep[record[0]]) included.push(number); });
    // A group's N is its documents' passages, coded or not, as `coder network --where` counts them (an older
    // page, without them, counts its coded passages).
    var total = keep ? groupPassages(state.group, counted) : data.total_passages;
    var list = Array.from(pairs.values());
    list.forEach(function (pair) {
      var n12 = pair.count, n1 = passages[pair.a], n2 = passages[pair.b];
      pair.jaccard = n12 / (n1 + n2 - n12);
      pair.association = n12 * total / (n1 * n2);
      pair.npmi = n12 === total ? 1 : Math.log(n12 * total / (n1 * n2)) / -Math.log(n12 / total);
    });
    statsCache[key] = { roll: roll, present: present, passages: passages, documents: documents, pairs: pairs,
                        list: list, total: total, included: included };
    return statsCache[key];
  }
  function weight(pair) { return state.measure === "count" ? pair.count : pair[state.measure]; }
  function ranked(pairs) {
    return pairs.sort(function (x, y) {
      return weight(y) - weight(x) || y.count - x.count || (codes[x.a].id < codes[y.a].id ? -1 : codes[x.a].id > codes[y.a].id ? 1 : 0) ||
        (codes[x.b].id < codes[y.b].id ? -1 : codes[x.b].id > codes[y.b].id ? 1 : 0);
    });
  }
  // The links drawn: pairs sharing at least min_count passages, the top_edges strongest (0: all).
  function selection() {
    var s = stats(), limit = state.top_edges > 0 ? state.top_edges : MAX_DRAWN;
    var strong = ranked(s.list.filter(function (pair) { return pair.count >= state.min_count; }));
    var weak = state.weak === "faint" ? ranked(s.list.filter(function (pair) { return pair.count < state.min_count; })) : [];
    return { stats: s, strong: strong.slice(0, Math.min(limit, MAX_DRAWN)), weak: weak.slice(0, Math.min(limit, MAX_DRAWN)),
             eligible: strong.length, weakEligible: weak.length };
  }
  function shownCodes(chosen) {
    var s = chosen.stats;
    if (!state.hide_isolated) return s.present.slice();
    var linked = new Uint8Array(M);
    chosen.strong.forEach(function (pair) { linked[pair.a] = 1; linked[pair.b] = 1; });
    return s.present.filter(function (code) { return linked[code]; });
  }
  function colourOf(code) {
    if (state.color_by === "community") {
      var number = (data.communities[String(state.level)] || NONE)[codes[code].id] || 1;
      return data.palette[(number - 1) % data.palette.length];
    }
    return codes[code].color;
  }
  function passagesOf(a, b) {
    var s = stats(), found = [];
    s.included.forEach(function (number) {
      var record = data.passages[number], hasA = false, hasB = b === undefined;
      record[3].forEach(function (code) { if (s.roll[code] === a) hasA = true; if (s.roll[code] === b) hasB = true; });
      if (hasA && hasB) found.push(number);
    });
    return found;
  }
  function wordsOf(record, targets) {
    var s = stats(), words = [];
    record[3].forEach(function (code, position) {
      if (targets.indexOf(s.roll[code]) >= 0) record[4][position].forEach(function (word) { words.push(data.words[word]); });
    });
    return words;
  }

  // --- the map ----------------------------------------------------------------------------------
  var container = document.getElementById("coder-network");
  var tooltip = document.getElementById("coder-tooltip");
  var nodes = new vis.DataSet([]), edges = new vis.DataSet([]);
  var network = new vis.Network(container, { nodes: nodes, edges: edges }, {
    autoResize: true,
    nodes: { shape: "dot", font: { size: FONT_SIZE, face: FONT, strokeWidth: 3, strokeColor: "#ffffff" }, borderWidth: 1 },
    edges: { smooth: false, selectionWidth: 1.5, hoverWidth: 1, color: { inherit: false } },
    interaction: { hover: true, tooltipDelay: 120, multiselect: false },
    physics: { enabled: false },
    layout: { improvedLayout: false }
  });
  window.coderNetwork = network;
  var measureContext = document.createElement("canvas").getContext("2d");
  measureContext.font = FONT_SIZE + "px " + FONT;
  var drawn = { nodes: [], edges: Object.create(null), chosen: null, sizes: Object.create(null) };
  var placed = Object.create(null);

  function radius(passages, most) { return 6 + 22 * Math.sqrt(most > 0 ? passages / most : 0); }
  // Positions from the Python layout, pushed apart until no code's dot and label overlap another's.
  function positions(level, present, sizes) {
    var key = String(level);
    if (placed[key]) return placed[key];
    var layout = data.layouts[key] || NONE, boxes = present.map(function (code, position) {
      var point = layout[codes[code].id] || [position * 40, 0], size = sizes[code];
      var half = Math.max(size, measureContext.measureText(codes[code].label).width / 2 + 3);
      return { code: code, x: point[0], y: point[1], half: half, up: size + 3, down: size + FONT_SIZE + 15 };
    });
    if (boxes.length <= OVERLAP_MAX_CODES) {
      for (var round = 0; round < 200; round++) {
        var moved = false;
        for (var i = 0; i < boxes.length; i++) {
          for (var j = i + 1; j < boxes.length; j++) {
            var p = boxes[i], q = boxes[j];
            var dx = Math.min(p.x + p.half, q.x + q.half) - Math.max(p.x - p.half, q.x - q.half);
            var dy = Math.min(p.y + p.down, q.y + q.down) - Math.max(p.y - p.up, q.y - q.up);
            if (dx <= 0 || dy <= 0) continue;
            moved = true;
            if (dx < dy) {
              var sx = (p.x < q.x || (p.x === q.x && i < j)) ? -1 : 1;
              p.x += sx * (dx / 2 + 1); q.x -= sx * (dx / 2 + 1);
            } else {
              var sy = (p.y < q.y || (p.y === q.y && i < j)) ? -1 : 1;
              p.y += sy * (dy / 2 + 1); q.y -= sy * (dy / 2 + 1);
            }
          }
        }
        if (!moved) break;
      }
    }
    placed[key] = Object.create(null);
    boxes.forEach(function (box) { placed[key][box.code] = [box.x, box.y]; });
    return placed[key];
  }

  function drawMap() {
    var chosen = selection(), s = chosen.stats, shown = shownCodes(chosen);
    var most = 0;
    s.present.forEach(function (code) { most = Math.max(most, s.passages[code]); });
    var sizes = Object.create(null);
    s.present.forEach(function (code) { sizes[code] = radius(s.passages[code], most); });
    var where = positions(state.level, s.present, sizes);
    var low = Infinity, high = -Infinity;
    chosen.strong.forEach(function (pair) { low = Math.min(low, weight(pair)); high = Math.max(high, weight(pair)); });
    function width(pair) { return high > low ? 1 + 8 * (weight(pair) - low) / (high - low) : 3; }
    var nodeRecords = shown.map(function (code) {
      return { id: nodeOf(code), label: mapLabel(codes[code].label), x: where[code][0], y: where[code][1], size: sizes[code],
               color: colourOf(code), font: { color: "#222222" } };
    });
    var edgeRecords = [];
    drawn.edges = Object.create(null);
    chosen.weak.forEach(function (pair) {
      var id = "w" + (pair.a * M + pair.b);
      drawn.edges[id] = pair;
      edgeRecords.push({ id: id, from: nodeOf(pair.a), to: nodeOf(pair.b), width: 1, dashes: [2, 4],
                         color: { color: "rgba(150,150,150,0.35)", highlight: "#333333", hover: "#333333" } });
    });
    chosen.strong.forEach(function (pair) {
      var id = "s" + (pair.a * M + pair.b);
      drawn.edges[id] = pair;
      edgeRecords.push({ id: id, from: nodeOf(pair.a), to: nodeOf(pair.b), width: width(pair),
                         color: { color: "rgba(110,110,110,0.45)", highlight: "#333333", hover: "#333333" } });
    });
    var visible = Object.create(null);
    shown.forEach(function (code) { visible[nodeOf(code)] = true; });
    edgeRecords = edgeRecords.filter(function (edge) { return visible[edge.from] && visible[edge.to]; });
    var levelChanged = drawn.level !== state.level;
    nodes.clear(); edges.clear();
    nodes.add(nodeRecords); edges.add(edgeRecords);
    network.setOptions({ interaction: { hideEdgesOnDrag: edgeRecords.length > 2000, hideEdgesOnZoom: edgeRecords.length > 2000 } });
    drawn = { nodes: shown, edges: drawn.edges, chosen: chosen, sizes: sizes, low: low, high: high, most: most,
              level: state.level, edgeCount: edgeRecords.length };
    if (levelChanged) network.fit({ animation: false });
    highlighted = false;
    describe(chosen, shown);
  }

  function describe(chosen, shown) {
    var s = chosen.stats, measure = MEASURE_NAMES[state.measure];
    document.getElementById("coder-summary").textContent =
      plural(shown.length, "code") + " · " + plural(chosen.strong.length, "link") + " drawn" +
      (chosen.weak.length ? " (and " + chosen.weak.length.toLocaleString("en") + " weaker, faint)" : "") + " of " +
      plural(s.list.length, "co-occurring pair") + " · N = " + plural(s.total, "passage") +
      (state.group ? (data.group_passages && Object.keys(data.group_passages).length ? " (the chosen documents' passages)"
                                                                               : " (coded passages of the chosen documents)") : "") +
      " · node size: passages · link width: " + measure + (data.sample ? " · passage lists: " + sampleNote() : "");
    var message = "";
    if (!s.present.some(function (code) { return s.passages[code] > 0; })) message = "No coded passages: nothing to draw. Check the codebook's keywords, or the review column (rejected rows are left out).";
    else if (!s.list.length) message = plural(s.present.length, "code") + ", but no two codes share a passage: no links to draw.";
    else if (!chosen.strong.length) message = plural(s.present.length, "code") + ", but no two codes share " + state.min_count +
      " passages or more: no links to draw. Lower the minimum, or show weaker links faint.";
    var banner = document.getElementById("coder-message");
    banner.textContent = message;
    banner.hidden = !message;
    banner.className = shown.length ? "notice" : "";
    var explain = "Links drawn: pairs of codes sharing at least " + plural(state.min_count, "passage") +
      (state.top_edges > 0 ? ", the " + state.top_edges + " strongest by " + measure : ", every one") +
      " (" + chosen.strong.length + " of the " + chosen.eligible + " that qualify). ";
    if (state.min_count > 1) explain += "A link resting on " + (state.min_count === 2 ? "one shared passage" : "fewer passages") +
      " is " + (state.weak === "faint" ? "drawn faint and dashed, its width not weighted" +
        (chosen.weak.length < chosen.weakEligible ? " (the " + chosen.weak.length + " strongest of " + chosen.weakEligible +
         " such links, as many as the strong ones)" : "") : "not drawn") +
      ": on so little evidence Jaccard or association can reach their maximum by chance. ";
    explain += "Width is " + measure + " among the links drawn; hover a link for its counts, click it to list its passages.";
    if (state.color_by === "community") explain += " Communities: Louvain on the default links at this level, found when the report was written.";
    document.getElementById("coder-explain").textContent = explain;
    legend(shown);
    key();
  }

  function legend(shown) {
    var list = document.getElementById("coder-legend");
    list.replaceChildren();
    var entries = [], byName = Object.create(null);
    shown.forEach(function (code) {
      // One entry per colour group: a community, or a top-level code (by its id: two top-level codes
      // may share a label, and each has its own colour).
      var name, group, colour = colourOf(code);
      if (state.color_by === "community") {
        name = "Community " + ((data.communities[String(state.level)] || NONE)[codes[code].id] || 1);
        group = name;
      } else {
        group = codes[code].path[0];
        name = codes[codeIndex[group]].label;
      }
      if (!byName[group]) { byName[group] = { name: name, colour: colour, count: 0 }; entries.push(byName[group]); }
      byName[group].count++;
    });
    entries.forEach(function (entry) {
      var item = element("li"), swatch = element("span", null, "swatch");
      swatch.style.background = entry.colour;
      item.appendChild(swatch);
      item.appendChild(element("span", entry.name + " — " + plural(entry.count, "code")));
      list.appendChild(item);
    });
  }

  var SVG = "http://www.w3.org/2000/svg";
  function svgElement(tag, attributes, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function key() {
    var box = document.getElementById("coder-key");
    box.replaceChildren(element("h2", "Key"));
    if (!drawn.nodes.length) return;
    var most = drawn.most, svg = svgElement("svg", { viewBox: "0 0 240 150", width: "100%", role: "img" });
    var sizes = [most, Math.max(1, Math.round(most / 4)), 1].filter(function (value, index, all) { return all.indexOf(value) === index; });
    var x = 8;
    sizes.forEach(function (value) {
      var r = radius(value, most);
      svg.appendChild(svgElement("circle", { cx: x + r, cy: 34, r: r, fill: "#ccc", stroke: "#888" }));
      svg.appendChild(svgElement("text", { x: x + r, y: 76, "text-anchor": "middle", "font-size": "11" }, value));
      x += 2 * r + 14;
    });
    svg.appendChild(svgElement("text", { x: 8, y: 92, "font-size": "11" }, "node size: passages coded"));
    if (drawn.chosen.strong.length) {
      var values = drawn.high > drawn.low ? [drawn.low, drawn.high] : [drawn.low];
      values.forEach(function (value, index) {
        var widthValue = drawn.high > drawn.low ? 1 + 8 * (value - drawn.low) / (drawn.high - drawn.low) : 3;
        svg.appendChild(svgElement("line", { x1: 8 + index * 120, y1: 110, x2: 68 + index * 120, y2: 110, stroke: "#777", "stroke-width": widthValue }));
        svg.appendChild(svgElement("text", { x: 74 + index * 120, y: 114, "font-size": "11" }, number(value, 2)));
      });
      svg.appendChild(svgElement("text", { x: 8, y: 134, "font-size": "11" },
        "link width: " + MEASURE_NAMES[state.measure] + ", ≥ " + plural(state.min_count, "shared passage")));
    }
    box.appendChild(svg);
  }

  function nodeTip(id) {
    var s = drawn.chosen.stats, code = codeOfNode(id), box = element("div");
    box.appendChild(element("h3", codes[code].label));
    box.appendChild(element("div", codes[code].path.map(function (part) { return codes[codeIndex[part]].label; }).join(" / "), "path"));
    if (codes[code].description) box.appendChild(element("p", codes[code].description));
    box.appendChild(element("p", plural(s.passages[code], "passage") + " in " + plural(s.documents[code], "document") +
      " · " + plural(network.getConnectedEdges(id).length, "link") + " drawn"));
    passagesOf(code).slice(0, 2).forEach(function (number) {
      var record = data.passages[number], item = element("div", null, "example");
      item.appendChild(element("div", where(record), "where"));
      item.appendChild(marked(record[2].length > 300 ? record[2].slice(0, 300) + " …" : record[2], wordsOf(record, [code])));
      box.appendChild(item);
    });
    return box;
  }
  function pairLine(pair) {
    return plural(pair.count, "shared passage") + " in " + plural(pair.documents, "document") + " · Jaccard " +
      number(pair.jaccard) + " · association " + number(pair.association) + " · NPMI " + number(pair.npmi);
  }
  function edgeTip(id) {
    var pair = drawn.edges[id], box = element("div");
    box.appendChild(element("h3", codes[pair.a].label + " — " + codes[pair.b].label));
    box.appendChild(element("p", pairLine(pair)));
    box.appendChild(element("p", "Click the link to list every passage both codes code.", "path"));
    return box;
  }
  window.coderTooltips(network, container, tooltip, nodeTip, edgeTip);

  var highlighted = false;
  function highlight(id) {
    var keep = Object.create(null);
    keep[id] = true;
    network.getConnectedNodes(id).forEach(function (other) { keep[other] = true; });
    nodes.update(drawn.nodes.map(function (code) {
      var nodeId = nodeOf(code);
      return { id: nodeId, color: keep[nodeId] ? colourOf(code) : "rgba(200,200,200,0.5)", font: { color: keep[nodeId] ? "#222222" : "#bbbbbb" } };
    }));
    network.selectNodes([id]);
    highlighted = true;
  }
  function clear() {
    if (!highlighted) return;
    nodes.update(drawn.nodes.map(function (code) { return { id: nodeOf(code), color: colourOf(code), font: { color: "#222222" } }; }));
    network.unselectAll();
    highlighted = false;
  }
  network.on("click", function (event) {
    if (event.nodes.length) { highlight(event.nodes[0]); showCode(codeOfNode(event.nodes[0])); }
    else if (event.edges.length) { clear(); var pair = drawn.edges[event.edges[0]]; showPassages(pair.a, pair.b); }
    else clear();
  });

  // --- side panel: a code, or every passage of a pair ---------------------------------------------
  function showCode(code) {
    var s = stats(), box = document.getElementById("coder-details");
    box.replaceChildren(element("h3", codes[code].label));
    if (codes[code].description) box.appendChild(element("p", codes[code].description));
    box.appendChild(element("p", plural(s.passages[code], "passage") + " in " + plural(s.documents[code], "document")));
    var button = element("button", "Keyword in context");
    button.type = "button";
    button.addEventListener("click", function () { showView("kwic"); kwicInput.value = codeName(code); drawKwic(); });
    box.appendChild(button);
  }
  function showPassages(a, b) {
    var s = stats(), box = document.getElementById("coder-details"), found = passagesOf(a, b);
    var pair = s.pairs.get(Math.min(a, b) * M + Math.max(a, b));
    box.replaceChildren(element("h3", codes[a].label + " — " + codes[b].label));
    box.appendChild(element("p", pair ? pairLine(pair) : "no shared passage"));
    var list = element("div");
    list.id = "coder-passages";
    found.slice(0, LIST_MAX).forEach(function (number) {
      var record = data.passages[number], item = element("div", null, "passage");
      item.dataset.document = data.documents[record[0]];
      item.dataset.passage = String(record[1]);
      item.appendChild(element("div", where(record), "where"));
      item.appendChild(marked(record[2], wordsOf(record, [a, b])));
      list.appendChild(item);
    });
    box.appendChild(element("p", plural(pair ? pair.count : found.length, "passage") + " coded by both" +
      (data.sample ? " (" + Math.min(found.length, LIST_MAX).toLocaleString("en") + " of them shown: " + sampleNote() + ")"
        : found.length > LIST_MAX ? " (the first " + LIST_MAX + " shown)" : "") + ":"));
    box.appendChild(list);
  }

  // --- matrix -------------------------------------------------------------------------------------
  function matrixCodes() {
    var chosen = drawn.chosen || selection(), s = chosen.stats, list = shownCodes(chosen), note = "";
    if (list.length > MATRIX_MAX) {
      note = "Showing the " + MATRIX_MAX + " codes with most passages of " + list.length + ".";
      list = list.slice().sort(function (a, b) { return s.passages[b] - s.passages[a] || a - b; }).slice(0, MATRIX_MAX);
      list.sort(function (a, b) { return a - b; });
    }
    return { list: list, note: note, stats: s };
  }
  function pairOf(s, a, b) { return a === b ? null : s.pairs.get(Math.min(a, b) * M + Math.max(a, b)); }
  function drawMatrix() {
    var chosen = matrixCodes(), s = chosen.stats, list = chosen.list, table = document.getElementById("coder-matrix");
    document.getElementById("coder-matrix-note").textContent = chosen.note;
    var order = list.slice();
    if (state.matrixSort !== null && list.indexOf(state.matrixSort) >= 0) {
      var by = state.matrixSort;
      order.sort(function (a, b) {
        var x = pairOf(s, a, by), y = pairOf(s, b, by);
        return (a === by ? -1 : 0) - (b === by ? -1 : 0) || (y ? weight(y) : -Infinity) - (x ? weight(x) : -Infinity) || a - b;
      });
    } else if (state.matrixOrder === "passages") {
      order.sort(function (a, b) { return s.passages[b] - s.passages[a] || a - b; });
    } else if (state.matrixOrder === "label") {
      order.sort(function (a, b) { return codes[a].label.localeCompare(codes[b].label) || a - b; });
    }
    var high = 0;
    s.list.forEach(function (pair) { if (pair.count >= state.min_count) high = Math.max(high, weight(pair)); });
    var head = element("thead"), row = element("tr");
    row.appendChild(element("th", MEASURE_NAMES[state.measure]));
    order.forEach(function (code) {
      var cell = element("th", codes[code].label);
      cell.title = codes[code].label;
      cell.dataset.code = codes[code].id;
      row.appendChild(cell);
    });
    head.appendChild(row);
    var body = element("tbody");
    order.forEach(function (a) {
      var line = element("tr"), label = element("th", codes[a].label);
      label.title = codes[a].label;
      label.dataset.code = codes[a].id;
      line.appendChild(label);
      order.forEach(function (b) {
        var cell = element("td");
        if (a === b) {
          cell.className = "self";
          cell.textContent = String(s.passages[a]);
          cell.title = "passages coded " + codes[a].label;
        } else {
          var pair = pairOf(s, a, b);
          cell.dataset.source = codes[a].id;
          cell.dataset.target = codes[b].id;
          if (pair) {
            var value = weight(pair), share = high > 0 ? Math.max(0, value) / high : 0;
            cell.appendChild(document.createTextNode(number(value, 2)));
            cell.appendChild(element("small", String(pair.count)));
            // Below the minimum count a pair is shown but not coloured: its measure rests on too little.
            if (pair.count < state.min_count) cell.className = "weak";
            else {
              cell.style.background = "rgba(31,119,180," + (0.08 + 0.82 * share).toFixed(3) + ")";
              if (share > 0.55) cell.className = "dark";
            }
          }
        }
        line.appendChild(cell);
      });
      body.appendChild(line);
    });
    table.replaceChildren(head, body);
  }
  document.getElementById("coder-matrix").addEventListener("click", function (event) {
    var cell = event.target.closest("td, th");
    if (!cell) return;
    if (cell.tagName === "TH" && cell.dataset.code) {
      state.matrixSort = codeIndex[cell.dataset.code] === state.matrixSort ? null : codeIndex[cell.dataset.code];
      drawMatrix();
    } else if (cell.dataset.source) {
      document.querySelectorAll("#coder-matrix td.chosen").forEach(function (other) { other.classList.remove("chosen"); });
      cell.classList.add("chosen");
      showPassages(codeIndex[cell.dataset.source], codeIndex[cell.dataset.target]);
    }
  });
  document.getElementById("coder-matrix-order").addEventListener("change", function (event) {
    state.matrixOrder = event.target.value;
    state.matrixSort = null;
    drawMatrix();
  });

  // --- frequencies and counts by document or group ------------------------------------------------
  var columnsSelect = document.getElementById("coder-columns");
  columnsSelect.appendChild(new Option("document", "documents"));
  Object.keys(data.variables).forEach(function (name) { columnsSelect.appendChild(new Option(name, name)); });
  columnsSelect.addEventListener("change", function () { state.columns = columnsSelect.value; drawFrequencies(); });
  function drawFrequencies() {
    var s = stats(), list = s.present.slice().sort(function (a, b) { return s.passages[b] - s.passages[a] || a - b; });
    var most = list.length ? s.passages[list[0]] : 0, mostDocuments = 0;
    list.forEach(function (code) { mostDocuments = Math.max(mostDocuments, s.documents[code]); });
    var table = document.getElementById("coder-frequencies"), head = element("tr");
    ["code", "passages", "documents"].forEach(function (name) { head.appendChild(element("th", name)); });
    var body = element("tbody");
    list.forEach(function (code) {
      var row = element("tr"), name = element("td"), swatch = element("span", null, "swatch");
      swatch.style.background = codes[code].color;
      name.appendChild(swatch);
      name.appendChild(document.createTextNode(" " + codes[code].label));
      name.title = codes[code].label;
      row.appendChild(name);
      [["passages", s.passages[code], most], ["documents", s.documents[code], mostDocuments]].forEach(function (entry) {
        var cell = element("td"), bar = element("span", null, "bar " + entry[0]);
        bar.style.width = (entry[2] ? 12 * entry[1] / entry[2] : 0) + "em";
        cell.appendChild(bar);
        cell.appendChild(document.createTextNode(String(entry[1])));
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    table.replaceChildren(element("thead"), body);
    table.firstChild.appendChild(head);
    drawCrosstab(s, list);
  }
  function drawCrosstab(s, list) {
    var byDocument = state.columns === "documents" || !data.variables[state.columns];
    var values = byDocument ? null : data.variables[state.columns];
    var columnOf = Object.create(null), columns = [], counts = Object.create(null), note = [], keep = groupFilter(state.group);
    data.sets.forEach(function (set) {
      if (keep && !keep[set[0]]) return;
      var column = byDocument ? data.documents[set[0]] : String(values[set[0]]);
      if (!(column in columnOf)) { columnOf[column] = columns.length; columns.push({ name: column, passages: 0 }); }
      columns[columnOf[column]].passages += set[1];
      var seen = Object.create(null);
      set[2].forEach(function (code) {
        var target = s.roll[code];
        if (seen[target]) return;
        seen[target] = true;
        var cellKey = target + "\u0000" + columnOf[column];
        counts[cellKey] = (counts[cellKey] || 0) + set[1];
      });
    });
    if (byDocument && columns.length > COLUMNS_MAX) {
      note.push("Showing the " + COLUMNS_MAX + " documents with most coded passages of " + columns.length + ".");
      columns = columns.slice().sort(function (a, b) { return b.passages - a.passages; }).slice(0, COLUMNS_MAX);
    }
    if (!byDocument) columns.sort(function (a, b) { return a.name.localeCompare(b.name, undefined, { numeric: true }); });
    var rows = list;
    if (rows.length > MATRIX_MAX) { note.push("Showing the " + MATRIX_MAX + " codes with most passages of " + rows.length + "."); rows = rows.slice(0, MATRIX_MAX); }
    document.getElementById("coder-crosstab-note").textContent = note.join(" ");
    var high = 0;
    Object.keys(counts).forEach(function (cellKey) { high = Math.max(high, counts[cellKey]); });
    var head = element("tr");
    head.appendChild(element("th", "passages"));
    columns.forEach(function (column) { var cell = element("th", column.name); cell.title = column.name; head.appendChild(cell); });
    var body = element("tbody");
    rows.forEach(function (code) {
      var row = element("tr"), label = element("th", codes[code].label);
      label.title = codes[code].label;
      row.appendChild(label);
      columns.forEach(function (column) {
        var count = counts[code + "\u0000" + columnOf[column.name]] || 0, cell = element("td", count || "");
        if (count) {
          var share = count / high;
          cell.style.background = "rgba(242,142,43," + (0.08 + 0.82 * share).toFixed(3) + ")";
          if (share > 0.55) cell.className = "dark";
        }
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    var thead = element("thead");
    thead.appendChild(head);
    document.getElementById("coder-crosstab").replaceChildren(thead, body);
  }

  // --- search and keyword in context --------------------------------------------------------------
  var kwicInput = document.getElementById("coder-kwic-code");
  // A code's name in the search boxes: its label, and its id too when another code has the same label
  // (two "Other" codes: the first was always the one found, its passages shown for the other).
  var labelCount = Object.create(null);
  codes.forEach(function (code) { var key = code.label.toLowerCase(); labelCount[key] = (labelCount[key] || 0) + 1; });
  function codeName(code) {
    return labelCount[codes[code].label.toLowerCase()] > 1 ? codes[code].label + " (" + codes[code].id + ")" : codes[code].label;
  }
  function findCode(text) {
    var query = text.trim().toLowerCase(), s = stats();
    if (!query) return null;
    var found = s.present.filter(function (code) { return codeName(code).toLowerCase() === query || codes[code].id.toLowerCase() === query; });
    if (!found.length) found = s.present.filter(function (code) { return codes[code].label.toLowerCase() === query; });
    if (!found.length) found = s.present.filter(function (code) { return codeName(code).toLowerCase().indexOf(query) >= 0; });
    return found.length ? found[0] : null;
  }
  function drawKwic() {
    var code = findCode(kwicInput.value), table = document.getElementById("coder-kwic"), note = document.getElementById("coder-kwic-note");
    table.replaceChildren();
    if (code === null) { note.textContent = kwicInput.value.trim() ? "No code at this level matches." : "Choose a code to see its keywords in context."; return; }
    var lines = 0, body = element("tbody");
    passagesOf(code).forEach(function (number) {
      var record = data.passages[number], text = record[2];
      spans(text, wordsOf(record, [code])).forEach(function (span) {
        if (lines >= KWIC_MAX) return;
        lines++;
        var row = element("tr"), left = element("td", null, "left"), right = element("td", null, "right"), hit = element("td");
        row.appendChild(element("td", where(record), "where"));
        left.appendChild(element("span", text.slice(Math.max(0, span[0] - CONTEXT), span[0])));
        hit.appendChild(element("mark", text.slice(span[0], span[1])));
        right.appendChild(element("span", text.slice(span[1], span[1] + CONTEXT)));
        row.appendChild(left); row.appendChild(hit); row.appendChild(right);
        body.appendChild(row);
      });
    });
    table.appendChild(body);
    note.textContent = codes[code].label + ": " + plural(lines, "line") + (lines >= KWIC_MAX ? " (the first " + KWIC_MAX + ")" : "") +
      (data.sample ? " in " + sampleNote() : "");
  }
  kwicInput.addEventListener("change", drawKwic);
  kwicInput.addEventListener("keydown", function (event) { if (event.key === "Enter") drawKwic(); });
  var search = document.getElementById("coder-search");
  function find() {
    var code = findCode(search.value);
    if (code === null) { clear(); return; }
    kwicInput.value = codeName(code);
    if (state.view === "kwic") { drawKwic(); return; }
    if (state.view !== "map") showView("map");
    if (nodes.get(nodeOf(code))) {
      highlight(nodeOf(code));
      network.focus(nodeOf(code), { scale: 1.2, animation: false });
    }
    showCode(code);
  }
  search.addEventListener("change", find);
  search.addEventListener("keydown", function (event) { if (event.key === "Enter") find(); });
  function fillCodeList() {
    var list = document.getElementById("coder-codes");
    list.replaceChildren();
    stats().present.forEach(function (code) { list.appendChild(new Option(codeName(code))); });
  }

  // --- export -------------------------------------------------------------------------------------
  function png() {
    var source = container.querySelector("canvas"), copy = document.createElement("canvas");
    copy.width = source.width; copy.height = source.height;
    var context = copy.getContext("2d");
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, copy.width, copy.height);
    context.drawImage(source, 0, 0);
    return copy.toDataURL("image/png");
  }
  function svg() {
    var where = network.getPositions(), ids = Object.keys(where);
    var left = Infinity, top = Infinity, right = -Infinity, bottom = -Infinity;
    drawn.nodes.forEach(function (code) {
      var point = where[nodeOf(code)], size = drawn.sizes[code], half = measureContext.measureText(codes[code].label).width / 2;
      left = Math.min(left, point.x - Math.max(size, half)); right = Math.max(right, point.x + Math.max(size, half));
      top = Math.min(top, point.y - size); bottom = Math.max(bottom, point.y + size + FONT_SIZE + 6);
    });
    if (!ids.length) { left = top = 0; right = bottom = 100; }
    var image = svgElement("svg", { xmlns: SVG, viewBox: [left - 10, top - 10, right - left + 20, bottom - top + 20].join(" "),
                                    width: Math.round(right - left + 20), height: Math.round(bottom - top + 20) });
    image.appendChild(svgElement("rect", { x: left - 10, y: top - 10, width: right - left + 20, height: bottom - top + 20, fill: "#ffffff" }));
    edges.get().forEach(function (edge) {
      var a = where[edge.from], b = where[edge.to];
      var line = svgElement("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: edge.color.color, "stroke-width": edge.width });
      if (edge.dashes) line.setAttribute("stroke-dasharray", "2 4");
      image.appendChild(line);
    });
    nodes.get().forEach(function (node) {
      var point = where[node.id];
      image.appendChild(svgElement("circle", { cx: point.x, cy: point.y, r: node.size, fill: node.color, stroke: "#555", "stroke-width": 0.5 }));
      image.appendChild(svgElement("text", { x: point.x, y: point.y + node.size + FONT_SIZE, "text-anchor": "middle",
        "font-size": FONT_SIZE, "font-family": FONT, stroke: "#ffffff", "stroke-width": 3, "paint-order": "stroke" }, node.label));
    });
    return new XMLSerializer().serializeToString(image);
  }
  document.getElementById("coder-export-png").addEventListener("click", function () { download("network.png", png()); });
  document.getElementById("coder-export-svg").addEventListener("click", function () {
    var url = URL.createObjectURL(new Blob([svg()], { type: "image/svg+xml" }));
    download("network.svg", url);
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  });

  // --- controls and views -------------------------------------------------------------------------
  var form = document.getElementById("coder-controls");
  data.levels.forEach(function (level) {
    form.elements.level.appendChild(new Option(level === 0 ? "every code" : level === 1 ? "1 (top-level codes)" : String(level), String(level)));
  });
  var variables = Object.keys(data.variables);
  if (variables.length) {
    document.getElementById("coder-group-control").hidden = false;
    form.elements.group.appendChild(new Option("all documents", ""));
    variables.forEach(function (name) {
      var values = [];
      // (a document without a row in the sheet has "" here: it is in no group, as in code_counts_by_group.csv)
      data.variables[name].forEach(function (value) { if (value !== "" && values.indexOf(String(value)) < 0) values.push(String(value)); });
      values.sort(function (a, b) { return a.localeCompare(b, undefined, { numeric: true }); });
      values.forEach(function (value) { form.elements.group.appendChild(new Option(name + " = " + value, name + "\u0000" + value)); });
    });
  }
  function showControls() {
    form.elements.measure.value = state.measure;
    form.elements.min_count.value = String(state.min_count);
    form.elements.top_edges.value = String(state.top_edges);
    form.elements.weak.value = state.weak;
    form.elements.level.value = String(state.level);
    form.elements.hide_isolated.checked = state.hide_isolated;
    form.elements.color_by.value = state.color_by;
    form.elements.group.value = state.group;
  }
  function readControls() {
    state.measure = form.elements.measure.value;
    state.min_count = Math.max(1, parseInt(form.elements.min_count.value, 10) || 1);
    state.top_edges = Math.max(0, parseInt(form.elements.top_edges.value, 10) || 0);
    state.weak = form.elements.weak.value;
    state.level = parseInt(form.elements.level.value, 10) || 0;
    state.hide_isolated = form.elements.hide_isolated.checked;
    state.color_by = form.elements.color_by.value;
    state.group = form.elements.group.value;
  }
  function update() {
    drawMap();
    fillCodeList();
    if (state.view === "matrix") drawMatrix();
    if (state.view === "frequencies") drawFrequencies();
    if (state.view === "kwic") drawKwic();
  }
  form.addEventListener("change", function () { readControls(); update(); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  function showView(view) {
    state.view = view;
    document.querySelectorAll("#coder-tabs button").forEach(function (button) {
      button.setAttribute("aria-selected", String(button.dataset.view === view));
    });
    ["map", "matrix", "frequencies", "kwic"].forEach(function (name) {
      document.getElementById("coder-view-" + name).hidden = name !== view;
    });
    if (view === "map") { network.redraw(); network.fit({ animation: false }); }
    if (view === "matrix") drawMatrix();
    if (view === "frequencies") drawFrequencies();
    if (view === "kwic") drawKwic();
  }
  document.getElementById("coder-tabs").addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (button) showView(button.dataset.view);
  });

  // Label boxes as vis-network drew them, for the no-overlap check.
  function labelOverlaps() {
    var boxes = drawn.nodes.map(function (code) {
      var body = network.body.nodes[nodeOf(code)], label = body.labelModule.size;
      return { left: Math.min(label.left, body.x - body.options.size), right: Math.max(label.left + label.width, body.x + body.options.size),
               top: Math.min(label.top, body.y - body.options.size), bottom: Math.max(label.top + label.height, body.y + body.options.size) };
    });
    var overlaps = 0;
    for (var i = 0; i < boxes.length; i++) {
      for (var j = i + 1; j < boxes.length; j++) {
        if (boxes[i].left < boxes[j].right && boxes[j].left < boxes[i].right && boxes[i].top < boxes[j].bottom && boxes[j].top < boxes[i].bottom) overlaps++;
      }
    }
    return overlaps;
  }
  window.coderReport = {
    state: state,
    set: function (changes) { Object.keys(changes).forEach(function (name) { state[name] = changes[name]; }); showControls(); update(); },
    show: showView,
    node: function (codeId) { return nodeOf(codeIndex[codeId]); },
    drawnCodes: function () { return nodes.getIds().map(function (id) { return codes[codeOfNode(id)].id; }); },
    drawnLinks: function () {
      return edges.get().map(function (edge) {
        var pair = drawn.edges[edge.id];
        return [codes[codeOfNode(edge.from)].id, codes[codeOfNode(edge.to)].id, pair.count, edge.width];
      });
    },
    labelOverlaps: labelOverlaps,
    png: png,
    svg: svg
  };

  showControls();
  network.once("afterDrawing", function () { window.coderReady = true; });
  update();
  network.fit({ animation: false });
  network.redraw();
})();
