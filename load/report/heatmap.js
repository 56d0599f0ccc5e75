// Draws each script's failed-step heatmap (step × day) from the JSON next
// to it, when its section is first opened: one SVG cell per step-day with
// a tooltip (failures / attempts / rate), a legend, and a table with the
// same numbers. No network, no library.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  // viridis, reversed (light = few failures): colour-blind safe and
  // monotonic in lightness.
  var STOPS = ["#fde725", "#addc30", "#5ec962", "#28ae80", "#21918c", "#2c728e", "#3b528b", "#472d7b", "#440154"];
  var NONE = "#e6e9ed"; // attempts but no failure
  function hex(c) { return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)]; }
  function colour(rate) {
    if (rate <= 0) return NONE;
    var t = 0.12 + 0.88 * Math.sqrt(Math.min(1, rate)); // sqrt: small rates stay visible
    var x = t * (STOPS.length - 1), i = Math.min(STOPS.length - 2, Math.floor(x)), f = x - i;
    var a = hex(STOPS[i]), b = hex(STOPS[i + 1]);
    return "rgb(" + [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * f); }).join(",") + ")";
  }
  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function h(name, text, cls) {
    var e = document.createElement(name);
    if (text != null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function dayStr(from, i) { return new Date(Date.parse(from + "T00:00:00Z") + i * 864e5).toISOString().slice(0, 10); }
  function pct(r) { return (r * 100).toFixed(2) + "%"; }
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function short(from, i) { var d = new Date(Date.parse(from + "T00:00:00Z") + i * 864e5); return MONTHS[d.getUTCMonth()] + " " + d.getUTCDate(); }
  function label(s) { var n = s.n || "(unnamed)"; return s.i + " · " + (n.length > 30 ? n.slice(0, 29) + "…" : n); }

  function draw(section) {
    var box = section.querySelector(".heatmap"), data = section.querySelector(".hm-data");
    if (!box || !data || box.dataset.drawn) return;
    box.dataset.drawn = "1";
    var d = JSON.parse(data.textContent), tz = d.tz || "";
    box.textContent = "";
    if (!d.steps.length) { box.appendChild(h("p", "No step attempts in the period (the runs reported no steps).", "quiet")); return; }
    var left = 10 + 7 * Math.max.apply(null, d.steps.map(function (s) { return label(s).length; })), top = 34, ch = 16;
    // Cells fill the width available (6 to 20 px wide); narrower screens scroll.
    var cw = Math.max(6, Math.min(20, Math.floor(((box.clientWidth || 900) - left - 10) / d.days)));
    var w = left + cw * d.days + 10, hh = top + ch * d.steps.length + 40;
    var svg = el("svg", { "class": "hm", width: w, height: hh, viewBox: "0 0 " + w + " " + hh, role: "img" });
    svg.appendChild(el("title", {}, "Failed steps by day: failure rate of each step's attempts per day"));
    svg.appendChild(el("text", { x: 4, y: 12, "class": "axis" }, "Step (index · name)"));
    var step = Math.max(1, Math.ceil(d.days / 8), Math.ceil(52 / cw)); // labels at least 52 px apart
    for (var i = 0; i < d.days; i += step) {
      var x = left + i * cw + cw / 2;
      svg.appendChild(el("line", { x1: x, x2: x, y1: top - 4, y2: top, stroke: "#4a5260" }));
      svg.appendChild(el("text", { x: x, y: top - 8, "text-anchor": "middle", "class": "tick" }, short(d.from, i)));
    }
    d.steps.forEach(function (s, r) {
      var y = top + r * ch;
      var t = el("text", { x: left - 6, y: y + ch / 2, "text-anchor": "end", "dominant-baseline": "middle", "class": "tick step" }, label(s));
      t.appendChild(el("title", {}, "step " + s.i + ": " + (s.n || "(unnamed)")));
      svg.appendChild(t);
      var g = el("g", { "data-step": s.i });
      for (var i = 0; i < d.days; i++) {
        if (!s.a[i]) continue;
        var rate = s.f[i] / s.a[i];
        var c = el("rect", { x: left + i * cw, y: y + 1, width: cw - 1, height: ch - 2, fill: colour(rate), "data-day": dayStr(d.from, i), "data-f": s.f[i], "data-a": s.a[i] });
        c.appendChild(el("title", {}, "step " + s.i + " " + (s.n || "(unnamed)") + " · " + dayStr(d.from, i) + ": " + s.f[i] + " failures / " + s.a[i] + " attempts (" + pct(rate) + ")"));
        g.appendChild(c);
      }
      svg.appendChild(g);
    });
    svg.appendChild(el("text", { x: left + cw * d.days / 2, y: hh - 12, "text-anchor": "middle", "class": "axis" }, "Day (" + tz + ")"));
    box.appendChild(svg);
    var lg = h("p", null, "hm-legend");
    lg.appendChild(document.createTextNode("Failure rate (% of the day's attempts):"));
    [["no attempts", "#ffffff"], ["0%", NONE], ["1%", colour(0.01)], ["5%", colour(0.05)], ["25%", colour(0.25)], ["50%", colour(0.5)], ["100%", colour(1)]].forEach(function (p) {
      var sw = h("i"); sw.style.background = p[1]; lg.appendChild(sw); lg.appendChild(document.createTextNode(p[0]));
    });
    box.appendChild(lg);
    // The same numbers as a table.
    var alt = h("details", null, "alt"), sum = h("summary", "Table: failures by step");
    alt.appendChild(sum);
    var tw = h("div", null, "tw"), tb = h("table", null, "heatmap-table");
    var head = tb.createTHead().insertRow();
    ["Step", "Name", "Attempts", "Failures", "Failure rate", "Days with failures", "Failing days (failures/attempts)"].forEach(function (c, k) {
      var th = h("th", c, k >= 2 && k <= 5 ? "num" : ""); th.scope = "col"; head.appendChild(th);
    });
    var body = tb.createTBody();
    d.steps.forEach(function (s) {
      var a = 0, f = 0, days = [];
      for (var i = 0; i < d.days; i++) { a += s.a[i]; f += s.f[i]; if (s.f[i]) days.push(dayStr(d.from, i) + " " + s.f[i] + "/" + s.a[i]); }
      var tr = body.insertRow();
      tr.dataset.step = s.i;
      [s.i, s.n || "(unnamed)", a, f, a ? pct(f / a) : "–", days.length, days.join("; ")].forEach(function (v, k) {
        tr.appendChild(h("td", String(v), k >= 2 && k <= 5 ? "num" : ""));
      });
    });
    tw.appendChild(tb); alt.appendChild(tw); box.appendChild(alt);
  }
  function init() {
    document.querySelectorAll("details.script").forEach(function (s) {
      if (s.open) draw(s);
      s.addEventListener("toggle", function () { if (s.open) draw(s); });
    });
    // Following a link to a closed script opens it.
    function openTarget() {
      var t = location.hash && document.getElementById(location.hash.slice(1));
      if (t && t.tagName === "DETAILS") { t.open = true; draw(t); }
    }
    window.addEventListener("hashchange", openTarget);
    openTarget();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
