"use strict";
// The trace explorer: draws the embedded data (tracehtml.Data).
const D = JSON.parse(document.getElementById("data").textContent);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
const opInfo = {}; D.ops.forEach(o => { opInfo[o.op] = o; });

// viridis-like ramp: byte q (1..255) to a colour; 0 (no value) is grey.
function colour(q) {
  if (q === 0) return [200, 200, 200];
  const t = (q - 1) / 254, stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = t * (stops.length - 1), i = Math.min(Math.floor(x), stops.length - 2), f = x - i;
  return stops[i].map((a, k) => Math.round(a + f * (stops[i + 1][k] - a)));
}
function decode(s) { const b = atob(s), out = new Uint8Array(b.length); for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i); return out; }
function value(m, q) { return q === 0 ? NaN : (m.max === m.min ? m.min : m.min + (q - 1) / 254 * (m.max - m.min)); }

function drawTokens() {
  const box = document.getElementById("tokens");
  D.tokens.forEach((t, i) => {
    const s = el("span", "tok " + (t.generated ? "gen" : "prompt") + (t.traced < 0 ? " unfed" : ""), t.text !== "" ? t.text : String(t.id));
    s.title = (t.generated ? "generated" : "prompt") + " token " + i + ", id " + t.id + (t.traced < 0 ? " (not fed to the model)" : "");
    s.dataset.traced = t.traced;
    if (t.traced >= 0) s.addEventListener("click", () => showWalk(t.traced));
    box.appendChild(s);
  });
}

function drawMap(m, parent) {
  const cols = D.columns.length, cells = decode(m.cells);
  const cw = Math.max(2, Math.min(12, Math.floor(600 / cols))), rh = Math.max(2, Math.min(8, Math.floor(160 / m.rows)));
  const box = el("div", "map"), cv = el("canvas");
  cv.width = cols * cw; cv.height = m.rows * rh; cv.dataset.kind = m.kind; cv.dataset.layer = m.layer;
  const g = cv.getContext("2d"), img = g.createImageData(cv.width, cv.height);
  for (let y = 0; y < cv.height; y++) for (let x = 0; x < cv.width; x++) {
    const c = colour(cells[Math.floor(y / rh) * cols + Math.floor(x / cw)]), p = 4 * (y * cv.width + x);
    img.data[p] = c[0]; img.data[p + 1] = c[1]; img.data[p + 2] = c[2]; img.data[p + 3] = 255;
  }
  g.putImageData(img, 0, 0);
  const tip = document.getElementById("tip");
  const at = ev => { const r = cv.getBoundingClientRect(); return [Math.floor((ev.clientX - r.left) / cw), Math.floor((ev.clientY - r.top) / rh)]; };
  cv.addEventListener("mousemove", ev => {
    const [x, y] = at(ev); if (x < 0 || x >= cols || y < 0 || y >= m.rows) return;
    const col = D.columns[x], v = value(m, cells[y * cols + x]);
    tip.style.display = "block"; tip.style.left = (ev.clientX + 12) + "px"; tip.style.top = (ev.clientY + 12) + "px";
    tip.textContent = m.rowLabel + " " + y + (m.perRow > 1 ? " (mean of " + m.perRow.toFixed(3) + ")" : "") + ", tokens " + col.from + (col.to - col.from > 1 ? "–" + (col.to - 1) : "") + ": ≈ " + (isNaN(v) ? "no value" : v.toPrecision(4));
  });
  cv.addEventListener("mouseleave", () => { tip.style.display = "none"; });
  cv.addEventListener("click", ev => { const [x] = at(ev); if (x >= 0 && x < cols) showWalk(D.columns[x].from); });
  box.appendChild(cv);
  box.appendChild(el("div", "cap", m.title + " [" + m.min.toPrecision(3) + ", " + m.max.toPrecision(3) + "]"));
  parent.appendChild(box);
}

function drawMaps() {
  const box = document.getElementById("maps");
  const resid = D.maps.filter(m => m.layer < 0);
  if (resid.length) { const s = el("div", "layer"); s.appendChild(el("h3", "", "residual stream, layers × tokens")); resid.forEach(m => drawMap(m, s)); box.appendChild(s); }
  for (let l = 0; l < D.layers; l++) {
    const maps = D.maps.filter(m => m.layer === l); if (!maps.length) continue;
    const s = el("div", "layer"); s.appendChild(el("h3", "", "layer " + l + " (rows: channels or heads, columns: tokens)"));
    maps.forEach(m => drawMap(m, s)); box.appendChild(s);
  }
  if (D.missing && D.missing.length) {
    box.appendChild(el("h3", "", "not drawn"));
    const ul = el("ul"); ul.id = "missing"; D.missing.forEach(t => ul.appendChild(el("li", "", t))); box.appendChild(ul);
  }
}

// showWalk lists token i's reports as -trace prints them, phase by phase.
function showWalk(i) {
  document.querySelectorAll(".tok").forEach(s => s.classList.toggle("sel", Number(s.dataset.traced) === i));
  const box = document.getElementById("walk"); box.textContent = "";
  const t = D.tokens.find(t => t.traced === i);
  box.appendChild(el("h3", "", "position " + i + (t ? ": token " + t.id + (t.text ? " " + JSON.stringify(t.text) : "") : "")));
  const w = D.walks[i];
  if (!w) { box.appendChild(el("p", "", "this token's walk was not kept (see the notes above)")); return; }
  const tab = el("table"); tab.id = "walktable";
  const hr = el("tr"); ["layer", "phase", "op", "value", "shape", "len", "‖v‖", "first values"].forEach(h => hr.appendChild(el("th", "", h))); tab.appendChild(hr);
  let last = null;
  w.forEach(s => {
    const o = opInfo[s.o] || { phase: "", quantity: "", shape: "" }, ph = o.phase || "-";
    const tr = el("tr", ph !== last ? "phase-start" : ""); last = ph;
    [s.l < 0 ? "-" : String(s.l), ph, s.o, o.quantity, o.shape, String(s.n), fmt(s.v), (s.f || []).map(fmt).join(" ") + (s.n > 4 ? " …" : "")].forEach(c => tr.appendChild(el("td", "", c)));
    tab.appendChild(tr);
  });
  box.appendChild(tab);
}
function fmt(v) { return typeof v === "number" ? v.toPrecision(4) : String(v); }

document.getElementById("title").textContent = D.title;
document.getElementById("model").textContent = D.impl + " · " + D.model;
const notes = document.getElementById("notes"); (D.notes || []).forEach(n => notes.appendChild(el("li", "", n)));
drawTokens(); drawMaps();
document.body.dataset.ready = "1";

// selfTest (the page opened as page.html#selftest, by
// compare/browser/test-browser.sh): every heatmap has coloured pixels,
// clicking a token shows its walk, and no script error or blocked request
// happened; the verdict goes to <body data-selftest>.
function selfTest() {
  const fails = [];
  document.querySelectorAll("canvas").forEach(cv => {
    const px = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
    let coloured = 0;
    for (let p = 0; p < px.length; p += 4) if (!(px[p] === 200 && px[p + 1] === 200 && px[p + 2] === 200)) coloured++;
    if (coloured === 0) fails.push("blank heatmap " + cv.dataset.kind + " layer " + cv.dataset.layer);
  });
  if (!document.querySelector("canvas")) fails.push("no heatmap");
  const tok = document.querySelector(".tok:not(.unfed)");
  if (tok) { tok.click(); const rows = document.querySelectorAll("#walktable tr").length; if (rows < 2) fails.push("clicking a token shows no walk"); }
  else fails.push("no token");
  return fails;
}
const selfFails = [];
window.addEventListener("error", e => selfFails.push("script error: " + e.message));
document.addEventListener("securitypolicyviolation", e => selfFails.push("blocked request: " + e.blockedURI));
if (location.hash === "#selftest") setTimeout(() => {
  const f = selfFails.concat(selfTest());
  document.body.dataset.selftest = f.length ? "FAIL: " + f.join("; ") : "ok";
}, 200);
