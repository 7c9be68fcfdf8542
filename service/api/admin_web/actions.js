// Actions page: one form per Centrifugo v4 OSS server API method, sent to /admin/api.

import * as api from "./api.js";
import { el, pretty, reformat } from "./dom.js";

const text = (name, label, extra = {}) => ({ name, label, type: "text", ...extra });
const CHANNEL = text("channel", "Channel", { required: true });
const USER = text("user", "User", { required: true });
const CLIENT = text("client", "Client", { help: "Only this connection (client ID)." });
const SESSION = text("session", "Session", { help: "Only this session (unidirectional transports)." });
const DATA = { name: "data", label: "Data", type: "json", required: true, initial: '{"text": "hello"}' };
const SKIP = { name: "skip_history", label: "Skip history", type: "checkbox" };
const TAGS = { name: "tags", label: "Tags", type: "json", help: 'Optional object of strings, e.g. {"source": "admin"}.' };

// method -> [help, fields]; field types: text, number, checkbox, json (an editor), list
// (comma-separated strings).
export const METHODS = {
  publish: ["Publish data into a channel.", [CHANNEL, DATA, SKIP, TAGS]],
  broadcast: ["Publish the same data into several channels.", [
    { name: "channels", label: "Channels", type: "list", required: true, help: "Comma-separated, e.g. chat:a, chat:b." },
    DATA, SKIP, TAGS]],
  subscribe: ["Subscribe a user's connections to a channel (server-side subscription).", [
    USER, CHANNEL, CLIENT, SESSION,
    { name: "info", label: "Channel info", type: "json" },
    { name: "data", label: "Data", type: "json", help: "Optional: sent to the client in the subscribe push." }]],
  unsubscribe: ["Unsubscribe a user's connections from a channel.", [USER, CHANNEL, CLIENT, SESSION]],
  disconnect: ["Disconnect a user's connections.", [
    USER, CLIENT, SESSION,
    { name: "code", label: "Disconnect code", type: "number", help: "Optional, e.g. 4000; default: force disconnect without reconnect." },
    text("reason", "Reason"),
    { name: "whitelist", label: "Whitelist", type: "list", help: "Client IDs to keep, comma-separated." }]],
  presence: ["Who is subscribed to a channel (channel needs presence on).", [CHANNEL]],
  presence_stats: ["How many clients and users are subscribed to a channel.", [CHANNEL]],
  history: ["Publications kept in a channel's history.", [
    CHANNEL,
    { name: "limit", label: "Limit", type: "number", initial: "10", help: "0: only the stream position; -1: everything." },
    { name: "since_offset", label: "Since offset", type: "number" },
    text("since_epoch", "Since epoch"),
    { name: "reverse", label: "Reverse", type: "checkbox" }]],
  history_remove: ["Remove a channel's history (its position is kept).", [CHANNEL]],
  channels: ["Channels with at least one subscriber, over all nodes (can be expensive).", [
    text("pattern", "Pattern", { help: "Optional glob, e.g. chat:*." })]],
  info: ["Statistics of every node.", []],
  refresh: ["Refresh (or expire) a user's connections.", [
    USER, CLIENT, SESSION,
    { name: "expired", label: "Expired", type: "checkbox" },
    { name: "expire_at", label: "Expire at", type: "number", help: "Unix seconds." },
    { name: "info", label: "Connection info", type: "json" }]],
};

export class ActionsView {
  constructor() {
    this.form = document.getElementById("action-form");
    this.select = document.getElementById("method");
    this.help = document.getElementById("method-help");
    this.fields = document.getElementById("fields");
    this.send = document.getElementById("send");
    this.status = document.getElementById("result-status");
    this.result = document.getElementById("result");
    this.values = new Map(); // field name -> value, kept across methods
    this.inputs = new Map();
    for (const name of Object.keys(METHODS)) this.select.append(el("option", { value: name }, name));
    this.select.addEventListener("change", () => this.build());
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.submit(); });
    this.build();
  }

  build() {
    this.remember();
    const [help, fields] = METHODS[this.select.value];
    this.help.textContent = help;
    this.inputs.clear();
    this.fields.replaceChildren(...fields.map((f) => this.field(f)));
  }

  remember() {
    for (const [name, input] of this.inputs) {
      this.values.set(name, input.type === "checkbox" ? input.checked : input.value);
    }
  }

  field(f) {
    const id = `f-${f.name}`;
    const saved = this.values.get(f.name);
    const wrap = el("div", { class: "field" });
    let input;
    if (f.type === "checkbox") {
      input = el("input", { id, type: "checkbox", checked: saved === true });
      wrap.append(el("label", { class: "check", for: id }, input, f.label));
    } else if (f.type === "json") {
      input = el("textarea", { id, class: "json", spellcheck: "false", rows: 5, required: !!f.required });
      input.value = saved ?? f.initial ?? "";
      const error = el("p", { class: "field-error", id: `${id}-error`, "aria-live": "polite" });
      input.setAttribute("aria-describedby", error.id);
      input.addEventListener("input", () => checkJSON(input, error));
      const format = el("button", { type: "button", class: "quiet small", "aria-label": `Format ${f.label}` }, "Format");
      format.addEventListener("click", () => {
        if (checkJSON(input, error) && input.value.trim()) input.value = reformat(input.value, "  ");
      });
      wrap.append(el("div", { class: "label-row" }, el("label", { for: id }, f.label), format), input, error);
    } else {
      input = el("input", {
        id, type: f.type === "number" ? "number" : "text", required: !!f.required,
        autocomplete: "off", spellcheck: "false",
      });
      input.value = saved ?? f.initial ?? "";
      wrap.append(el("label", { for: id }, f.label), input);
    }
    if (f.help) {
      const help = el("p", { class: "field-help", id: `${id}-help` }, f.help);
      if (f.type !== "json") input.setAttribute("aria-describedby", help.id);
      wrap.append(help);
    }
    this.inputs.set(f.name, input);
    return wrap;
  }

  // The params object for the chosen method, or throws Error(message) for bad input.
  params() {
    const out = {};
    const [, fields] = METHODS[this.select.value];
    for (const f of fields) {
      const input = this.inputs.get(f.name);
      if (f.type === "checkbox") {
        if (input.checked) out[f.name] = true;
        continue;
      }
      const raw = input.value.trim();
      if (!raw) {
        if (f.required) throw new Error(`${f.label} is required.`);
        continue;
      }
      if (f.type === "json") {
        try { JSON.parse(raw); } catch (e) { throw new Error(`${f.label} is not valid JSON: ${e.message}`); }
        out[f.name] = new api.RawJSON(reformat(raw)); // sent as typed: no rounding of numbers
      } else if (f.type === "number") {
        const n = Number(raw);
        if (!Number.isInteger(n)) throw new Error(`${f.label} must be a whole number.`);
        out[f.name] = n;
      } else if (f.type === "list") {
        out[f.name] = raw.split(",").map((s) => s.trim()).filter(Boolean);
      } else {
        out[f.name] = raw;
      }
    }
    return reshape(this.select.value, out);
  }

  async submit() {
    const method = this.select.value;
    let params;
    try {
      params = this.params();
    } catch (e) {
      this.show("failed", e.message, "");
      return;
    }
    this.send.disabled = true;
    this.show("", `Sending ${method}…`, "");
    const started = performance.now();
    try {
      const { reply, text } = await api.callRaw(method, params);
      const ms = Math.round(performance.now() - started);
      if (reply.error) {
        this.show("failed", `Error ${reply.error.code}: ${reply.error.message}`, pretty(reply));
      } else {
        this.show("ok", `${method}: OK in ${ms} ms`, resultText(reply, text));
      }
    } catch (e) {
      if (!(e instanceof api.AuthError)) this.show("failed", `Request failed: ${e.message}`, "");
    } finally {
      this.send.disabled = false;
    }
  }

  show(kind, status, body) {
    this.status.className = `note ${kind}`;
    this.status.textContent = status;
    this.result.textContent = body;
  }
}

// The reply's result laid out from the server's own text (so numbers show as sent), when the
// text is the v4 reply {"result":...}; else from the parsed reply.
const RESULT_PREFIX = '{"result":';
function resultText(reply, text) {
  if (text.startsWith(RESULT_PREFIX) && text.endsWith("}")) {
    return reformat(text.slice(RESULT_PREFIX.length, -1), "  ");
  }
  return pretty(reply.result ?? {});
}

// Form values -> the v4 request shape where it nests.
function reshape(method, p) {
  if (method === "disconnect" && (p.code !== undefined || p.reason !== undefined)) {
    if (p.code === undefined) throw new Error("Disconnect code is required with a reason.");
    p.disconnect = { code: p.code, reason: p.reason ?? "" };
    delete p.code;
    delete p.reason;
  }
  if (method === "history" && (p.since_offset !== undefined || p.since_epoch !== undefined)) {
    p.since = { offset: p.since_offset ?? 0, epoch: p.since_epoch ?? "" };
    delete p.since_offset;
    delete p.since_epoch;
  }
  return p;
}

function checkJSON(input, error) {
  const raw = input.value.trim();
  let message = "";
  if (raw) {
    try { JSON.parse(raw); } catch (e) { message = `Invalid JSON: ${e.message}`; }
  }
  input.setAttribute("aria-invalid", message ? "true" : "false");
  error.textContent = message;
  return !message;
}
