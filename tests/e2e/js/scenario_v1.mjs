// centrifuge-js 2.x (client protocol v1, npm alias `centrifuge2`) against gyre; prints one
// JSON line.
//
//   node scenario_v1.mjs '<json args>'
//
// args: {base, url, apiKey, token, refreshToken, channel, sockjs: [transports] | null}
// Steps: connect (token expiring in a few seconds), subscribe, a publication from the server
// API, a client publish, presence, presence stats, history, a connection refresh through
// `onRefresh` (the connection must outlive the first token), then a server API disconnect
// whose close reason the SDK reads as v1 JSON {reason, reconnect}.
import WebSocket from 'ws';
import SockJS from 'sockjs-client';
import Centrifuge from 'centrifuge2';

const args = JSON.parse(process.argv[2]);
const TIMEOUT = args.timeout || 10000;
const out = { ok: false, steps: [] };

function withTimeout(promise, what, ms = TIMEOUT) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

async function api(method, params) {
  const resp = await fetch(`${args.base}/api`, {
    method: 'POST',
    headers: { Authorization: `apikey ${args.apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ method, params }),
  });
  const body = await resp.json();
  if (resp.status !== 200 || body.error) throw new Error(`api ${method} failed: ${JSON.stringify(body)}`);
  return body.result;
}

let refreshes = 0;
const options = {
  minRetry: 100,
  maxRetry: 500,
  onRefresh: (ctx, cb) => {
    refreshes += 1;
    cb({ status: 200, data: { token: args.refreshToken } });
  },
};
if (args.sockjs) {
  options.sockjs = SockJS;
  options.sockjsTransports = args.sockjs;
} else {
  options.websocket = WebSocket;
}
const centrifuge = new Centrifuge(args.url, options);
centrifuge.setToken(args.token);

const publications = [];
let wake = null;
function waitPublications(n) {
  return withTimeout(new Promise((resolve) => {
    const check = () => { if (publications.length >= n) resolve(); else wake = check; };
    check();
  }), `${n} publications`);
}

try {
  const connected = new Promise((resolve, reject) => {
    centrifuge.on('connect', resolve);
    centrifuge.once('disconnect', (ctx) => reject(new Error(`disconnected: ${JSON.stringify(ctx)}`)));
  });
  centrifuge.connect();
  const ctx = await withTimeout(connected, 'connect');
  out.client = ctx.client;
  out.transport = ctx.transport;
  out.steps.push('connected');

  const sub = centrifuge.subscribe(args.channel, {
    publish: (p) => {
      publications.push({ data: p.data, offset: p.offset, info: p.info ? p.info.client : null });
      if (wake) { const w = wake; wake = null; w(); }
    },
  });
  await withTimeout(new Promise((resolve, reject) => {
    sub.on('subscribe', resolve);
    sub.on('error', (e) => reject(new Error(`subscribe error ${JSON.stringify(e)}`)));
  }), 'subscribed');
  out.steps.push('subscribed');

  await api('publish', { channel: args.channel, data: { from: 'api' } });
  await waitPublications(1);
  await withTimeout(sub.publish({ from: 'client' }), 'client publish');
  await waitPublications(2);
  out.publications = publications;
  out.steps.push('publications');

  const presence = await withTimeout(sub.presence(), 'presence');
  out.presence = Object.values(presence.presence).map((c) => c.client);
  const stats = await withTimeout(sub.presenceStats(), 'presence stats');
  out.presenceStats = { clients: stats.num_clients, users: stats.num_users };
  const history = await withTimeout(sub.history({ limit: 10 }), 'history');
  out.history = history.publications.map((p) => p.data);
  out.steps.push('presence+history');

  // the first token expires after args.expiresIn seconds; stay connected past that
  await new Promise((r) => setTimeout(r, args.stayMs));
  out.refreshes = refreshes;
  out.stillConnected = centrifuge.isConnected();
  out.steps.push('refreshed');

  const disconnected = new Promise((resolve) => centrifuge.once('disconnect', resolve));
  await api('disconnect', { user: args.user });
  const d = await withTimeout(disconnected, 'server disconnect');
  out.disconnect = { reason: d.reason, reconnect: d.reconnect };
  out.ok = true;
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
} finally {
  centrifuge.disconnect();
}
console.log(JSON.stringify(out));
setTimeout(() => process.exit(out.ok ? 0 : 1), 50);
