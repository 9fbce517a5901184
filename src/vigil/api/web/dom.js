// vigil's web page: building elements from data. Text is always set as text (textContent), never as
// HTML, so nothing the cluster says (names, exit reasons) can become markup.

// -- building the page ----------------------------------------------------------------------

export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

export const SVG = "http://www.w3.org/2000/svg";

export function s(tag, attrs, ...children) {
  const element = document.createElementNS(SVG, tag);
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

function setAttributes(element, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") element.setAttribute("class", value);
    else if (key === "text") element.textContent = value;
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "data") Object.assign(element.dataset, value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
}

export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function fill(container, ...children) {
  container.replaceChildren();
  append(container, children);
}

export function table(headers, rows, caption) {
  return h("table", {},
    caption ? h("caption", { class: "visually-hidden", text: caption }) : null,
    h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col", text })))),
    h("tbody", {}, rows));
}

export function empty(text) {
  return h("p", { class: "empty", text });
}

export function stateWord(text, tone) {
  return h("span", { class: `state ${tone}`, text });
}

