// The hover tooltip of both pages (render.build_page puts this file before the page's script):
// the page's nodeTip/edgeTip build its content; it sits beside the pointer, inside the drawing,
// and hides when the pointer leaves, a drag starts or the view zooms.
window.coderTooltips = function (network, container, tooltip, nodeTip, edgeTip) {
  "use strict";
  function showTip(content, pointer) {
    tooltip.replaceChildren(content);
    tooltip.hidden = false;
    var width = container.clientWidth, height = container.clientHeight;
    var left = pointer.DOM.x + 14, top = pointer.DOM.y + 14;
    if (left + tooltip.offsetWidth > width) left = Math.max(0, pointer.DOM.x - tooltip.offsetWidth - 14);
    if (top + tooltip.offsetHeight > height) top = Math.max(0, height - tooltip.offsetHeight);
    tooltip.style.left = left + "px";
    tooltip.style.top = top + "px";
  }
  function hideTip() { tooltip.hidden = true; }
  network.on("hoverNode", function (event) { showTip(nodeTip(event.node), event.pointer); });
  network.on("hoverEdge", function (event) { showTip(edgeTip(event.edge), event.pointer); });
  network.on("blurNode", hideTip);
  network.on("blurEdge", hideTip);
  network.on("dragStart", hideTip);
  network.on("zoom", hideTip);
};
