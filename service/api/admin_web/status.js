// Status page: every node from the `info` method, totals, and live charts drawn from polling.
// Polling runs while logged in (whatever page is shown) so the charts keep their history.

import * as api from "./api.js";
import { LineChart } from "./chart.js";
import { clock, el, formatBytes, formatNumber, formatUptime } from "./dom.js";

export const POLL_MS = 2000;
const WINDOW_MS = 5 * 60 * 1000;
// NodeResult.metrics item: publications a node handed to its broker since it started
// (docs/admin_ui.md); the chart shows their rate summed over nodes.
const SENT = "centrifugo.node.messages_sent_count.publication";

export class StatusView {
  constructor({ onError }) {
    this.onError = onError;
    this.timer = null;
    this.samples = [];
    this.counters = new Map(); // node uid -> {interval, sent, rate}
    this.tbody = document.querySelector("#nodes tbody");
    this.tfoot = document.querySelector("#nodes tfoot");
    this.totals = document.getElementById("totals");
    this.updated = document.getElementById("status-updated");
    const charts = document.getElementById("charts");
    this.charts = {
      clients: new LineChart(charts, { title: "Connections", colour: "c1", windowMs: WINDOW_MS }),
      subs: new LineChart(charts, { title: "Subscriptions", colour: "c2", windowMs: WINDOW_MS }),
      rate: new LineChart(charts, { title: "Messages/s", colour: "c3", windowMs: WINDOW_MS, digits: 1 }),
    };
  }

  start() {
    if (this.timer === null) {
      this.timer = setInterval(() => this.poll(), POLL_MS);
      this.poll();
    }
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.samples = [];
    this.counters.clear();
  }

  async poll() {
    let reply;
    try {
      reply = await api.call("info", {});
    } catch (e) {
      if (!(e instanceof api.AuthError)) this.onError(`Cannot get the status: ${e.message}`);
      return;
    }
    if (this.timer === null) return; // logged out meanwhile
    if (reply.error) {
      this.onError(`info failed: error ${reply.error.code}: ${reply.error.message}`);
      return;
    }
    this.onError("");
    this.update(reply.result.nodes || [], Date.now());
  }

  // Messages per second of one node from its counter and its own clock (metrics.interval is
  // the node's uptime when it counted); peers announce every few seconds, so between two of
  // their announcements the last rate stands.
  rateOf(node) {
    const m = node.metrics;
    if (!m || !m.items || !(SENT in m.items)) return 0;
    const sent = m.items[SENT];
    const prev = this.counters.get(node.uid);
    if (prev && m.interval === prev.interval) return prev.rate; // no newer announcement yet
    let rate = 0; // first sight of the node, or it restarted (its counters went back)
    if (prev && m.interval > prev.interval && sent >= prev.sent) {
      rate = (sent - prev.sent) / (m.interval - prev.interval);
    }
    this.counters.set(node.uid, { interval: m.interval, sent, rate });
    return rate;
  }

  update(nodes, now) {
    nodes.sort((a, b) => a.name.localeCompare(b.name) || a.uid.localeCompare(b.uid));
    const sum = (key) => nodes.reduce((acc, n) => acc + (n[key] || 0), 0);
    const total = {
      nodes: nodes.length,
      clients: sum("num_clients"),
      users: sum("num_users"),
      channels: sum("num_channels"),
      subs: sum("num_subs"),
      rate: nodes.reduce((acc, n) => acc + this.rateOf(n), 0),
    };
    const live = new Set(nodes.map((n) => n.uid));
    for (const uid of this.counters.keys()) if (!live.has(uid)) this.counters.delete(uid);

    this.tbody.replaceChildren(...nodes.map((n) => this.row(n)));
    this.tfoot.replaceChildren(el("tr", {},
      el("td", {}, `Total (${total.nodes} ${total.nodes === 1 ? "node" : "nodes"})`),
      el("td"), el("td"),
      el("td", { class: "num" }, formatNumber(total.clients)),
      el("td", { class: "num" }, formatNumber(total.users)),
      el("td", { class: "num" }, formatNumber(total.channels)),
      el("td", { class: "num" }, formatNumber(total.subs)),
      el("td"), el("td"),
    ));
    const cards = [
      ["Nodes", formatNumber(total.nodes)],
      ["Connections", formatNumber(total.clients)],
      ["Users", formatNumber(total.users)],
      ["Channels", formatNumber(total.channels)],
      ["Subscriptions", formatNumber(total.subs)],
      ["Messages/s", formatNumber(total.rate, 1)],
    ];
    this.totals.replaceChildren(...cards.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v))));

    this.samples.push({ t: now, clients: total.clients, subs: total.subs, rate: total.rate });
    while (this.samples.length && this.samples[0].t < now - WINDOW_MS) this.samples.shift();
    for (const key of ["clients", "subs", "rate"]) {
      this.charts[key].render(this.samples.map((s) => ({ t: s.t, v: s[key] })), now);
    }
    this.updated.textContent = `Updated ${clock(now)} · every ${POLL_MS / 1000} s`;
  }

  row(n) {
    const p = n.process;
    return el("tr", { "data-uid": n.uid },
      el("th", { scope: "row" }, n.name, el("span", { class: "uid" }, n.uid)),
      el("td", {}, n.version),
      el("td", {}, formatUptime(n.uptime || 0)),
      el("td", { class: "num" }, formatNumber(n.num_clients || 0)),
      el("td", { class: "num" }, formatNumber(n.num_users || 0)),
      el("td", { class: "num" }, formatNumber(n.num_channels || 0)),
      el("td", { class: "num" }, formatNumber(n.num_subs || 0)),
      el("td", { class: "num" }, p ? `${formatNumber(p.cpu || 0, 1)} %` : "–"),
      el("td", { class: "num" }, p ? formatBytes(p.rss) : "–"),
    );
  }
}
