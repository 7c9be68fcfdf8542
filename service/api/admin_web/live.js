// Channel page: a live view of one channel through the admin-only /admin/stream endpoint.

import * as api from "./api.js";
import { clock, el, pretty } from "./dom.js";

const MAX_EVENTS = 200;

function decodeB64(b64) {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  } catch {
    return b64;
  }
}

export class LiveView {
  constructor() {
    this.form = document.getElementById("live-form");
    this.input = document.getElementById("live-channel");
    this.watchButton = document.getElementById("live-watch");
    this.stopButton = document.getElementById("live-stop");
    this.status = document.getElementById("live-status");
    this.list = document.getElementById("live-events");
    this.controller = null;
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.watch(this.input.value.trim()); });
    this.stopButton.addEventListener("click", () => this.stop("Stopped."));
    document.getElementById("live-clear").addEventListener("click", () => this.list.replaceChildren());
  }

  async watch(channel) {
    if (!channel) {
      this.status.textContent = "Enter a channel to watch.";
      this.input.focus();
      return;
    }
    this.stop();
    const controller = new AbortController();
    this.controller = controller;
    this.stopButton.disabled = false;
    this.status.textContent = `Connecting to ${channel}…`;
    try {
      await api.stream(channel, (ev) => this.event(channel, ev), controller.signal);
      if (this.controller === controller) this.status.textContent = `The stream of ${channel} ended.`;
    } catch (e) {
      if (controller.signal.aborted || e instanceof api.AuthError) return;
      if (this.controller === controller) this.status.textContent = `The stream of ${channel} failed: ${e.message}`;
    } finally {
      if (this.controller === controller) {
        this.controller = null;
        this.stopButton.disabled = true;
      }
    }
  }

  stop(message = null) {
    if (this.controller) {
      this.controller.abort();
      this.controller = null;
    }
    this.stopButton.disabled = true;
    if (message) this.status.textContent = message;
  }

  event(channel, ev) {
    switch (ev.type) {
      case "subscribed":
        this.status.textContent = `Watching ${channel}.`;
        return;
      case "error":
        this.status.textContent = `Cannot watch ${channel}: error ${ev.error.code}: ${ev.error.message}`;
        return;
      case "ping":
        return;
      case "dropped":
        this.add(el("li", { class: "dropped" }, `${ev.count} events dropped: the page read too slowly.`));
        return;
      default:
        this.add(this.item(ev));
    }
  }

  item(ev) {
    const meta = el("div", { class: "meta" },
      el("span", { class: "kind" }, ev.type),
      el("time", { datetime: new Date(ev.time).toISOString() }, clock(ev.time)),
    );
    if (ev.offset) meta.append(el("span", {}, `offset ${ev.offset}`));
    if (ev.info) meta.append(el("span", {}, `user ${JSON.stringify(ev.info.user)}`), el("span", { class: "mono" }, `client ${ev.info.client}`));
    const li = el("li", { class: ev.type }, meta);
    if (ev.type === "publication") {
      const body = "data" in ev ? pretty(ev.data) : `(binary, shown as text) ${decodeB64(ev.b64data || "")}`;
      li.append(el("pre", { class: "json" }, body));
      if (ev.tags) li.append(el("div", { class: "meta" }, `tags ${JSON.stringify(ev.tags)}`));
    }
    return li;
  }

  add(item) {
    this.list.prepend(item);
    while (this.list.children.length > MAX_EVENTS) this.list.lastElementChild.remove();
  }
}
