// One centrifuge-js scenario against a running gyre server; prints one JSON line.
//
//   node scenario.mjs '<json args>'
//
// args: {base, apiKey, token, channel, transports: [{transport, endpoint}], protobuf,
//        sockjsTransports?, user?, serverDisconnect?}
// Steps: connect (with the transport list, in order), subscribe, receive a publication
// published through the server API (POST /api), publish from the client and receive it,
// presence, history; with serverDisconnect, a server API disconnect of `user` whose code and
// reason the SDK reports.  Node 20 fetch/ReadableStream serve http_stream; `ws` serves
// WebSocket; `eventsource` 2.x serves SSE; sockjs-client 1.6 serves SockJS, restricted to
// `sockjsTransports` (e.g. ['xhr-streaming'] keeps its websocket transport out).
import WebSocket from 'ws';
import EventSource from 'eventsource';
import SockJS from 'sockjs-client';

const args = JSON.parse(process.argv[2]);
const mod = args.protobuf ? await import('centrifuge/build/protobuf') : await import('centrifuge');
const { Centrifuge } = mod;

const TIMEOUT = args.timeout || 10000;
const enc = new TextEncoder();
const dec = new TextDecoder();
const out = { ok: false, steps: [] };

function withTimeout(promise, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), TIMEOUT);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

function payload(value) {
  return args.protobuf ? enc.encode(JSON.stringify(value)) : value;
}

function decode(data) {
  if (data instanceof Uint8Array) return JSON.parse(dec.decode(data));
  return data;
}

async function apiPublish(channel, data) {
  const resp = await fetch(`${args.base}/api`, {
    method: 'POST',
    headers: { Authorization: `apikey ${args.apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ method: 'publish', params: { channel, data } }),
  });
  const body = await resp.json();
  if (resp.status !== 200 || body.error) throw new Error(`api publish failed: ${JSON.stringify(body)}`);
  return body.result;
}

const client = new Centrifuge(args.transports, {
  token: args.token,
  websocket: WebSocket,
  eventsource: EventSource,
  sockjs: SockJS,
  sockjsOptions: args.sockjsTransports ? { transports: args.sockjsTransports } : {},
  fetch: globalThis.fetch,
  readableStream: globalThis.ReadableStream,
  emulationEndpoint: `${args.base}/emulation`,
  minReconnectDelay: 100,
  maxReconnectDelay: 500,
  timeout: 5000,
});

const publications = [];
let wake = null;
function waitPublications(n) {
  return withTimeout(
    new Promise((resolve) => {
      const check = () => {
        if (publications.length >= n) resolve();
        else wake = check;
      };
      check();
    }),
    `${n} publications`,
  );
}

try {
  const connected = new Promise((resolve, reject) => {
    client.on('connected', resolve);
    client.on('disconnected', (ctx) => reject(new Error(`disconnected: ${JSON.stringify(ctx)}`)));
  });
  client.connect();
  const ctx = await withTimeout(connected, 'connected');
  out.transport = ctx.transport;
  out.client = ctx.client;
  out.steps.push('connected');

  const sub = client.newSubscription(args.channel);
  sub.on('publication', (p) => {
    publications.push({ data: decode(p.data), offset: p.offset, info: p.info ? p.info.client : null });
    if (wake) { const w = wake; wake = null; w(); }
  });
  sub.subscribe();
  await withTimeout(sub.ready(), 'subscribed');
  out.steps.push('subscribed');

  await apiPublish(args.channel, { from: 'api' });
  await waitPublications(1);
  out.steps.push('api publication');

  await withTimeout(sub.publish(payload({ from: 'client' })), 'client publish');
  await waitPublications(2);
  out.steps.push('client publication');
  out.publications = publications;

  const presence = await withTimeout(sub.presence(), 'presence');
  out.presence = Object.values(presence.clients).map((c) => c.client);
  out.steps.push('presence');

  const stats = await withTimeout(sub.presenceStats(), 'presence stats');
  out.presenceStats = { clients: stats.numClients, users: stats.numUsers };

  const history = await withTimeout(sub.history({ limit: 10 }), 'history');
  out.history = history.publications.map((p) => decode(p.data));
  out.steps.push('history');
  if (args.serverDisconnect) {
    const gone = new Promise((resolve) => client.once('disconnected', resolve));
    const r = await fetch(`${args.base}/api`, {
      method: 'POST',
      headers: { Authorization: `apikey ${args.apiKey}` },
      body: JSON.stringify({ method: 'disconnect', params: { user: args.user } }),
    });
    if (r.status !== 200) throw new Error(`api disconnect: ${r.status}`);
    const d = await withTimeout(gone, 'server disconnect');
    out.disconnect = { code: d.code, reason: d.reason };
    out.steps.push('disconnected');
  }
  out.ok = true;
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
} finally {
  client.disconnect();
}
console.log(JSON.stringify(out));
setTimeout(() => process.exit(out.ok ? 0 : 1), 50);
