"use strict";
// The page of compare -html: draws the embedded data (compare's reportData).
const D = JSON.parse(document.getElementById("data").textContent);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };

// The colour scale: log10 of the error from LO (1e-9, below float32's
// rounding) to HI (at least 1, the error of a vector lost entirely).
const LO = -9;
let HI = 0;
D.maps.forEach(m => m.err.forEach(r => r.forEach(v => { if (typeof v === "number" && v > 0) HI = Math.max(HI, Math.ceil(Math.log10(v))); })));
const GREY = "rgb(200,200,200)", ZERO = "rgb(255,255,255)", INF = "rgb(255,0,255)";

// viridis-like ramp over t in [0, 1].
function ramp(t) {
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.min(Math.max(t, 0), 1) * (stops.length - 1), i = Math.min(Math.floor(x), stops.length - 2), f = x - i;
  return "rgb(" + stops[i].map((a, k) => Math.round(a + f * (stops[i + 1][k] - a))).join(",") + ")";
}
function num(v) { return v === "Infinity" ? Infinity : v; }
function colour(v) {
  v = num(v);
  if (v === null) return GREY;
  if (v === Infinity) return INF;
  if (v === 0) return ZERO;
  return ramp((Math.log10(v) - LO) / (HI - LO));
}

function drawLegend() {
  const box = document.getElementById("legend");
  box.appendChild(el("span", "lab", "error / scale:"));
  for (let e = LO; e <= HI; e++) {
    const s = el("span", "sw", "1e" + e); s.style.background = ramp((e - LO) / (HI - LO));
    if (Math.abs(Math.pow(10, e) - D.traceTol) / D.traceTol < 1e-9) { s.classList.add("tol"); s.title = "the trace tolerance (-trace-tol)"; }
    box.appendChild(s);
  }
  [["0", ZERO, "#222"], ["∞", INF, "#fff"], ["not compared", GREY, "#222"]].forEach(([t, bg, fg]) => {
    const s = el("span", "sw", t); s.style.background = bg; s.style.color = fg; s.style.textShadow = "none"; s.style.width = "auto"; s.style.padding = "0 .5em"; box.appendChild(s);
  });
  box.appendChild(el("span", "lab", "trace tolerance " + D.traceTol + " (outlined); first divergence: red box"));
}

function drawMap(m) {
  const box = el("div", "map");
  box.dataset.impl = m.impl; box.dataset.vs = m.vs;
  box.appendChild(el("h3", "", m.case + " " + m.format + "/" + m.impl + " vs " + m.vs));
  box.appendChild(el("div", "line" + (m.first ? " diverged" : ""), m.line));
  const tab = el("table", "heat"), hr = el("tr");
  ["layer", "op", "learning"].forEach(h => hr.appendChild(el("th", "", h)));
  for (let t = 0; t < m.tokens; t++) hr.appendChild(el("th", "", String(t)));
  tab.appendChild(hr);
  let last = null;
  m.rows.forEach((r, i) => {
    const tr = el("tr", r.layer !== last ? "layer-start" : ""); last = r.layer;
    tr.appendChild(el("td", "", r.layer < 0 ? "-" : String(r.layer)));
    const op = el("td");
    if (r.href) { const a = el("a", "op", r.op); a.href = r.href; a.title = r.source; op.appendChild(a); } else op.appendChild(el("span", "op", r.op));
    tr.appendChild(op);
    tr.appendChild(el("td", "src", r.source));
    m.err[i].forEach((v, t) => {
      const c = el("td", "c"); c.style.background = colour(v);
      const n = num(v);
      c.title = "token " + t + ", " + (r.layer < 0 ? "" : "layer " + r.layer + ", ") + "op " + r.op + ": " + (n === null ? "not compared" : n.toPrecision(3) + " of scale");
      if (m.first && m.first.row === i && m.first.token === t) { c.classList.add("first"); c.title += " — first divergence"; }
      tr.appendChild(c);
    });
    tab.appendChild(tr);
  });
  box.appendChild(tab);
  document.getElementById("maps").appendChild(box);
}

document.getElementById("title").textContent = D.title;
drawLegend();
(D.maps || []).forEach(drawMap);
if (!D.maps || !D.maps.length) document.getElementById("maps").appendChild(el("p", "", "no row was localised: no trace to compare"));
document.body.dataset.ready = "1";

// selfTest (the page opened as FILE#selftest, by
// compare/browser/test-browser.sh): every heatmap has coloured cells,
// a map with a first divergence marks exactly one cell, every op with a
// source line links to it, and no script error or blocked request
// happened; the verdict goes to <body data-selftest>.
function selfTest() {
  const fails = [];
  const maps = document.querySelectorAll(".map");
  if (!maps.length) fails.push("no heatmap");
  maps.forEach((box, k) => {
    const m = D.maps[k], cells = box.querySelectorAll("td.c");
    let coloured = 0;
    cells.forEach(c => { const bg = getComputedStyle(c).backgroundColor.replace(/ /g, ""); if (bg !== GREY && bg !== "rgba(0, 0, 0, 0)" && bg !== "") coloured++; });
    if (coloured === 0) fails.push("blank heatmap " + m.format + "/" + m.impl + " vs " + m.vs);
    const marked = box.querySelectorAll("td.c.first").length;
    if (marked !== (m.first ? 1 : 0)) fails.push(m.format + "/" + m.impl + " vs " + m.vs + ": " + marked + " cells marked first");
    m.rows.forEach(r => { if (r.source && !r.href) fails.push("op " + r.op + " has no link to " + r.source); });
  });
  return fails;
}
const selfFails = [];
window.addEventListener("error", e => selfFails.push("script error: " + e.message));
document.addEventListener("securitypolicyviolation", e => selfFails.push("blocked request: " + e.blockedURI));
if (location.hash === "#selftest") setTimeout(() => {
  const f = selfFails.concat(selfTest());
  document.body.dataset.selftest = f.length ? "FAIL: " + f.join("; ") : "ok";
}, 200);
