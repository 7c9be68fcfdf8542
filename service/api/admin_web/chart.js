// A hand-drawn SVG line chart of one series over a sliding time window.  The window starts
// at one minute and widens with the history the page has, up to `windowMs`.

import { el, formatNumber, svg } from "./dom.js";

const W = 400;
const H = 150;
const PAD = { left: 40, right: 8, top: 8, bottom: 20 };
const MIN_SPAN_MS = 60 * 1000;

// Round `max` up to 1, 2 or 5 times a power of ten (at least 1) for the axis top.
function ago(ms) {
  const s = Math.round(ms / 1000);
  if (s < 120) return `-${s} s`;
  const m = s / 60;
  return `-${Number.isInteger(m) ? m : m.toFixed(1)} min`;
}

function niceMax(max) {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) {
    if (max <= step * power) return Math.max(1, step * power);
  }
  return 10 * power;
}

export class LineChart {
  // title: caption; colour: "c1" | "c2" | "c3"; windowMs: width of the time window;
  // digits: decimals shown for the current value.
  constructor(parent, { title, colour, windowMs, digits = 0 }) {
    this.title = title;
    this.windowMs = windowMs;
    this.digits = digits;
    this.now = el("span", { class: "now" }, "–");
    this.svg = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
    this.figure = el(
      "figure",
      { class: `chart ${colour}` },
      el("figcaption", {}, el("span", {}, title), this.now),
      this.svg,
    );
    parent.append(this.figure);
  }

  // points: [{t: ms, v: number}] oldest first; `now` is the right edge of the window.
  render(points, now) {
    const first = points.length ? points[0].t : now;
    const span = Math.min(this.windowMs, Math.max(MIN_SPAN_MS, Math.ceil((now - first) / MIN_SPAN_MS) * MIN_SPAN_MS));
    const from = now - span;
    const shown = points.filter((p) => p.t >= from && Number.isFinite(p.v));
    const top = niceMax(Math.max(0, ...shown.map((p) => p.v)));
    const plotW = W - PAD.left - PAD.right;
    const plotH = H - PAD.top - PAD.bottom;
    const x = (t) => PAD.left + ((t - from) / span) * plotW;
    const y = (v) => PAD.top + plotH - (v / top) * plotH;
    const parts = [];
    for (const frac of [0, 0.5, 1]) {
      const gy = y(top * frac);
      parts.push(svg("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: gy, y2: gy }));
      parts.push(svg("text", { class: "axis-label", x: PAD.left - 6, y: gy + 4, "text-anchor": "end" },
        formatNumber(top * frac, top < 10 && frac === 0.5 ? 1 : 0)));
    }
    const ticks = [[from, ago(span), "start"], [from + span / 2, ago(span / 2), "middle"], [now, "now", "end"]];
    for (const [t, label, anchor] of ticks) {
      parts.push(svg("text", { class: "axis-label", x: x(t), y: H - 6, "text-anchor": anchor }, label));
    }
    if (shown.length) {
      const coords = shown.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
      const base = y(0).toFixed(1);
      const first = x(shown[0].t).toFixed(1);
      const last = x(shown[shown.length - 1].t).toFixed(1);
      parts.push(svg("path", { class: "area", d: `M${first},${base} L${coords.join(" L")} L${last},${base} Z` }));
      parts.push(svg("polyline", { class: "line", points: coords.join(" ") }));
    }
    this.svg.replaceChildren(...parts);
    const current = shown.length ? shown[shown.length - 1].v : NaN;
    const text = formatNumber(current, this.digits);
    this.now.textContent = text;
    this.svg.setAttribute("aria-label", `${this.title} over the last ${ago(span).slice(1)}, now ${text}`);
  }
}
