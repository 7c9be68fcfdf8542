// Talking to Gyre's admin endpoints: /admin/auth, /admin/api (Centrifugo v4 shapes) and the
// live channel stream /admin/stream.  The token lives in sessionStorage only (gone when the
// tab closes) and is sent as "Authorization: token <t>"; a 401 anywhere means the token is
// expired or invalid: it is forgotten and the page goes back to the login form.

import { parseForDisplay } from "./dom.js";

const TOKEN_KEY = "gyre-admin-token";
let authLost = () => {};

export class AuthError extends Error {
  constructor() { super("not logged in"); this.name = "AuthError"; }
}

export class HttpError extends Error {
  constructor(status) {
    const reasons = {
      429: "too many failed attempts from this address; wait a few seconds (HTTP 429)",
      503: "the server is shutting down (HTTP 503)",
    };
    super(reasons[status] || `HTTP ${status}`);
    this.name = "HttpError";
    this.status = status;
  }
}

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function clearToken() { sessionStorage.removeItem(TOKEN_KEY); }
export function onAuthLost(fn) { authLost = fn; }

function lost() {
  clearToken();
  authLost();
  return new AuthError();
}

// POST /admin/auth; true when logged in, false for a wrong password (the server's 400).
export async function login(password) {
  const response = await fetch("admin/auth", {
    method: "POST",
    body: new URLSearchParams({ password }),
    cache: "no-store",
  });
  if (response.status === 400) return false;
  if (!response.ok) throw new HttpError(response.status);
  const body = await response.json();
  sessionStorage.setItem(TOKEN_KEY, body.token);
  return true;
}

function headers() {
  return { Authorization: `token ${token() || ""}`, "Content-Type": "application/json" };
}

// JSON text to send as written (already valid and compact, see dom.reformat), for values an
// operator typed: a JavaScript value would round big numbers.
export class RawJSON {
  constructor(text) { this.text = text; }
}

// JSON.stringify for plain objects, arrays and scalars, with RawJSON values inserted as is.
export function stringify(value) {
  if (value instanceof RawJSON) return value.text;
  if (Array.isArray(value)) return `[${value.map(stringify).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${stringify(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

// One server API command; resolves to {reply, text}: the reply object ({result} or
// {error: {code, message}}) and the reply's JSON text as the server sent it.
export async function callRaw(method, params = {}) {
  const response = await fetch("admin/api", {
    method: "POST",
    headers: headers(),
    body: stringify({ method, params }),
    cache: "no-store",
  });
  if (response.status === 401) throw lost();
  if (!response.ok) throw new HttpError(response.status);
  const text = await response.text();
  return { reply: JSON.parse(text), text };
}

// One server API command; resolves to the reply object.
export async function call(method, params = {}) {
  return (await callRaw(method, params)).reply;
}

// Follow a channel: calls onEvent(object) per NDJSON line until the stream ends or `signal`
// aborts it. The objects are for display (numbers as sent, see dom.parseForDisplay).
export async function stream(channel, onEvent, signal) {
  const response = await fetch("admin/stream", {
    method: "POST",
    headers: headers(),
    body: JSON.stringify({ channel }),
    cache: "no-store",
    signal,
  });
  if (response.status === 401) throw lost();
  if (!response.ok) throw new HttpError(response.status);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (line) onEvent(parseForDisplay(line));
    }
  }
}
