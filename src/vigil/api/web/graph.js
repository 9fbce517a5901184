// vigil's web page: the order graph of a transition, drawn in SVG, zoomable and movable with the
// mouse, the wheel, touch and the keyboard, with the same order listed as text.
import { SVG, fill, h, s } from "./dom.js";

export function taskLabel(task, intervalMs) {
  if (task === "monitor" && !intervalMs) return "probe";
  return intervalMs ? `${task} ${intervalMs / 1000}s` : task;
}

export function actionLabel(action) {
  const meta = action.meta || {};
  if (action.task === "stonith") return `fence ${action.node} (${meta.stonith_action || "reboot"})`;
  const what = [action.resource, taskLabel(action.task, action.interval)].filter(Boolean).join(" ");
  return action.node ? `${what} on ${action.node}` : what;
}

export const CONTEXT_KEYS = ["stop_reason", "stop_final", "stop_cause", "stop_next_node", "recoveries_left",
  "start_reason"];


// -- the order graph --------------------------------------------------------------------------

const BOX_H = 34;
const ROW_GAP = 46;
const COL_GAP = 18;
const CHAR_W = 7.3;

function layoutGraph(graph) {
  const byId = new Map(graph.actions.map((action) => [action.id, action]));
  const after = new Map(graph.actions.map((action) => [action.id, []]));
  const before = new Map(graph.actions.map((action) => [action.id, []]));
  const seen = new Set();
  const edges = graph.order.filter(([a, b]) => {
    const key = `${a}>${b}`;
    if (!byId.has(a) || !byId.has(b) || a === b || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  for (const [a, b] of edges) {
    after.get(a).push(b);
    before.get(b).push(a);
  }
  // Layers by longest path from the actions that wait for nothing (a cycle's rest goes last).
  const waiting = new Map([...before].map(([id, list]) => [id, list.length]));
  const layer = new Map();
  const ready = [...waiting].filter(([, count]) => count === 0).map(([id]) => id).sort((a, b) => a - b);
  while (ready.length) {
    const id = ready.shift();
    if (!layer.has(id)) layer.set(id, 0);
    for (const next of after.get(id)) {
      layer.set(next, Math.max(layer.get(next) || 0, layer.get(id) + 1));
      waiting.set(next, waiting.get(next) - 1);
      if (waiting.get(next) === 0) ready.push(next);
    }
  }
  const deepest = Math.max(0, ...layer.values());
  for (const action of graph.actions) if (!layer.has(action.id)) layer.set(action.id, deepest + 1);
  const rows = [];
  for (const [id, depth] of layer) (rows[depth] = rows[depth] || []).push(id);
  const place = new Map();
  const boxes = new Map();
  let widest = 0;
  rows.forEach((row, depth) => {
    if (!row) return;
    // Order a row by where what it waits for stands (fewer crossings), then by label.
    row.sort((a, b) => centre(a) - centre(b) || actionLabel(byId.get(a)).localeCompare(actionLabel(byId.get(b))));
    let x = 0;
    for (const id of row) {
      const label = actionLabel(byId.get(id));
      const width = Math.max(90, label.length * CHAR_W + 18);
      boxes.set(id, { x, y: depth * (BOX_H + ROW_GAP), w: width, label });
      place.set(id, x + width / 2);
      x += width + COL_GAP;
    }
    widest = Math.max(widest, x - COL_GAP);
  });
  function centre(id) {
    const list = before.get(id).filter((other) => place.has(other));
    return list.length ? list.reduce((sum, other) => sum + place.get(other), 0) / list.length : 0;
  }
  // Centre each row under the widest.
  rows.forEach((row) => {
    if (!row) return;
    const last = boxes.get(row[row.length - 1]);
    const shift = (widest - (last.x + last.w)) / 2;
    for (const id of row) boxes.get(id).x += shift;
  });
  return { byId, boxes, edges, width: Math.max(widest, 100), height: rows.length * (BOX_H + ROW_GAP) - ROW_GAP };
}

function boxClass(action) {
  if (action.pseudo) return "box pseudo";
  if (action.task === "stonith") return "box stonith";
  return `box ${["stop", "start", "promote", "demote", "monitor"].includes(action.task) ? action.task : ""}`;
}

function contextTitle(action) {
  const meta = action.meta || {};
  const lines = [actionLabel(action) + (action.pseudo ? " (pseudo action)" : "")];
  for (const key of CONTEXT_KEYS) if (key in meta) lines.push(`${key}=${meta[key]}`);
  return lines.join("\n");
}

export function makeGraphView(container, prefix) {
  const view = { box: null, fit: null, svg: null, key: null };
  const tools = h("div", { class: "graph-tools" },
    h("button", { type: "button", text: "Zoom in", onclick: () => zoom(0.8) }),
    h("button", { type: "button", text: "Zoom out", onclick: () => zoom(1.25) }),
    h("button", { type: "button", text: "Fit", onclick: () => reset() }),
    h("span", { class: "note", text: "Drag to move, wheel or + and − to zoom, arrows to pan, 0 to fit." }));
  const area = h("div", { class: "graph", tabindex: "0", role: "group",
    "aria-label": "Order graph: + and − zoom, arrows pan, 0 fits" });
  const text = h("details", {}, h("summary", { text: "The order as text" }), h("ul", {}));
  const message = h("p", { class: "empty" });
  fill(container, message, tools, area, text);

  function apply() {
    if (view.svg) view.svg.setAttribute("viewBox", `${view.box.x} ${view.box.y} ${view.box.w} ${view.box.h}`);
  }
  function zoom(factor, cx, cy) {
    if (!view.box) return;
    const b = view.box;
    const x = cx === undefined ? b.x + b.w / 2 : cx;
    const y = cy === undefined ? b.y + b.h / 2 : cy;
    const w = Math.min(Math.max(b.w * factor, 40), view.fit.w * 8);
    const k = w / b.w;
    view.box = { x: x - (x - b.x) * k, y: y - (y - b.y) * k, w, h: b.h * k };
    apply();
  }
  function pan(dx, dy) {
    if (!view.box) return;
    view.box.x += dx * view.box.w;
    view.box.y += dy * view.box.h;
    apply();
  }
  function reset() {
    if (!view.fit) return;
    view.box = { ...view.fit };
    apply();
  }
  area.addEventListener("keydown", (event) => {
    const keys = {
      "+": () => zoom(0.8), "=": () => zoom(0.8), "-": () => zoom(1.25), "0": reset,
      ArrowLeft: () => pan(-0.1, 0), ArrowRight: () => pan(0.1, 0), ArrowUp: () => pan(0, -0.1),
      ArrowDown: () => pan(0, 0.1),
    };
    if (keys[event.key]) {
      keys[event.key]();
      event.preventDefault();
    }
  });
  area.addEventListener("wheel", (event) => {
    if (!view.svg) return;
    event.preventDefault();
    const point = toGraph(event.clientX, event.clientY);
    zoom(event.deltaY > 0 ? 1.15 : 0.87, point.x, point.y);
  }, { passive: false });
  let drag = null;
  area.addEventListener("pointerdown", (event) => {
    if (!view.box) return;
    drag = { x: event.clientX, y: event.clientY, box: { ...view.box } };
    area.setPointerCapture(event.pointerId);
  });
  area.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const rect = area.getBoundingClientRect();
    const scale = Math.max(drag.box.w / rect.width, drag.box.h / rect.height);
    view.box = { ...drag.box, x: drag.box.x - (event.clientX - drag.x) * scale,
      y: drag.box.y - (event.clientY - drag.y) * scale };
    apply();
  });
  area.addEventListener("pointerup", () => { drag = null; });
  area.addEventListener("pointercancel", () => { drag = null; });
  function toGraph(clientX, clientY) {
    const matrix = view.svg.getScreenCTM();
    if (!matrix) return { x: view.box.x + view.box.w / 2, y: view.box.y + view.box.h / 2 };
    const point = new DOMPoint(clientX, clientY).matrixTransform(matrix.inverse());
    return { x: point.x, y: point.y };
  }

  view.show = (graph, why) => {
    const key = graph ? JSON.stringify([graph.number, graph.actions.length, graph.order.length]) : why;
    if (key === view.key) return; // the same graph: keep the reader's zoom and place
    view.key = key;
    const visible = graph && graph.actions.length > 0;
    message.textContent = visible ? "" : (graph ? "Nothing to draw: no action." : why);
    message.hidden = Boolean(visible);
    tools.hidden = area.hidden = text.hidden = !visible;
    area.replaceChildren();
    view.svg = null;
    if (!visible) return;
    const layout = layoutGraph(graph);
    const marker = `${prefix}-arrow`;
    const svg = s("svg", { xmlns: SVG, role: "img", preserveAspectRatio: "xMidYMid meet",
      "aria-label": `Order graph: ${graph.actions.length} actions, ${layout.edges.length} orderings; ` +
        "the same order is listed as text below." },
    s("defs", {}, s("marker", { id: marker, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7",
      markerHeight: "7", orient: "auto-start-reverse" }, s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" }))));
    for (const [a, b] of layout.edges) {
      const from = layout.boxes.get(a);
      const to = layout.boxes.get(b);
      const x1 = from.x + from.w / 2;
      const y1 = from.y + BOX_H;
      const x2 = to.x + to.w / 2;
      const y2 = to.y;
      const bend = Math.max(20, (y2 - y1) / 2);
      svg.append(s("path", { class: "edge", d: `M ${x1} ${y1} C ${x1} ${y1 + bend}, ${x2} ${y2 - bend}, ${x2} ${y2}`,
        "marker-end": `url(#${marker})` }));
    }
    for (const [id, box] of layout.boxes) {
      const action = layout.byId.get(id);
      svg.append(s("g", {},
        s("title", { text: contextTitle(action) }),
        s("rect", { class: boxClass(action), x: box.x, y: box.y, width: box.w, height: BOX_H, rx: 5 }),
        s("text", { x: box.x + box.w / 2, y: box.y + BOX_H / 2 + 4, "text-anchor": "middle",
          class: action.pseudo ? "pseudo" : null, text: box.label })));
    }
    area.append(svg);
    view.svg = svg;
    // Fit the whole graph, but never drawn larger than life: a small graph stays readable size,
    // in an area no taller than it needs.
    const margin = 16;
    area.style.height = `${Math.round(Math.min(416, Math.max(140, layout.height + 2 * margin + 8)))}px`;
    const rect = area.getBoundingClientRect();
    const w = Math.max(layout.width + 2 * margin, rect.width || 0);
    const hgt = Math.max(Math.max(layout.height, BOX_H) + 2 * margin, rect.height || 0);
    view.fit = { x: (layout.width - w) / 2, y: -margin, w, h: hgt };
    reset();
    const lines = layout.edges.map(([a, b]) =>
      h("li", { class: "mono", text: `${actionLabel(layout.byId.get(a))} → then ${actionLabel(layout.byId.get(b))}` }));
    fill(text.querySelector("ul"), lines.length ? lines : h("li", { text: "No ordering: every action may run at once." }));
  };
  return view;
}

