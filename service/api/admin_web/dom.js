// Small DOM and formatting helpers shared by the views (no framework).

const SVG_NS = "http://www.w3.org/2000/svg";

// el("td", {class: "num"}, "42"): an element with attributes and children (strings become
// text nodes, never HTML).
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

export function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  if (text !== null) node.textContent = text;
  return node;
}

function setAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(key, value === true ? "" : String(value));
  }
}

export function formatUptime(seconds) {
  let s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d}d ${h}h ${m}m`;
  if (h) return `${h}h ${m}m ${s}s`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

export function formatBytes(n) {
  if (!Number.isFinite(n) || n <= 0) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(n >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatNumber(n, digits = 0) {
  if (!Number.isFinite(n)) return "–";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

// JSON.parse for display: a number a double cannot hold exactly becomes JSON.rawJSON of its
// source text, so pretty() prints it as sent (12345678901234567891, not ...567000). Browsers
// without JSON.rawJSON (and its reviver source text) parse as usual.
export function parseForDisplay(text) {
  if (typeof JSON.rawJSON !== "function") return JSON.parse(text);
  return JSON.parse(text, (key, value, context) =>
    typeof value === "number" && context && String(value) !== context.source
      ? JSON.rawJSON(context.source)
      : value);
}

// Valid JSON `text` re-spaced without parsing it: compact with indent "", else laid out as
// pretty() does. JSON.parse would turn numbers into doubles (12345678901234567891 comes back
// as 12345678901234567000, 1.10 as 1.1); this keeps every token as written.
export function reformat(text, indent = "") {
  let out = "";
  let depth = 0;
  let inString = false;
  let escaped = false;
  const newline = () => (indent ? `\n${indent.repeat(depth)}` : "");
  for (const ch of text) {
    if (inString) {
      out += ch;
      if (escaped) escaped = false;
      else if (ch === "\\") escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch === "{" || ch === "[") {
      depth += 1;
      out += ch + newline();
    } else if (ch === "}" || ch === "]") {
      depth -= 1;
      out = out.trimEnd();
      if (out.endsWith("{") || out.endsWith("[")) out += ch;
      else out += newline() + ch;
    } else if (ch === ",") {
      out += ch + newline();
    } else if (ch === ":") {
      out += indent ? ": " : ":";
    } else if (!" \t\n\r".includes(ch)) {
      out += ch;
    }
  }
  return out;
}

export function clock(ms) {
  return new Date(ms).toLocaleTimeString("en-GB", { hour12: false });
}
