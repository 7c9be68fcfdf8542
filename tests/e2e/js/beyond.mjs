// centrifuge-js 5.8 against gyre's beyond-v4 features (docs/beyond_v4.md); prints one JSON line.
//
//   node beyond.mjs '<json args>'
//
// args: {scenario, ws: [websocket URL of node A], api: [http base of the node to publish
// through, per phase], apiKey, token, channel, protobuf, docsFile (delta: a JSON list of
// document texts), steps (steps), transport, timeout}
// transport: 'websocket' (default), 'http_stream', 'sse' or 'sockjs' (xhr-streaming) on the
// node of args.ws; the transports the client connected with are reported.
// Scenarios:
//   delta   subscribe with delta 'fossil'; 10 documents published through api[0]; disconnect;
//           5 more through api[1]; reconnect (recovery); 5 more through api[1]; every decoded
//           publication is compared with its document; reports deltaStats
//   tags    subscribe with a tags filter; 6 publications, 3 matching; disconnect; 4 more, 2
//           matching; reconnect (recovery); reports what arrived and the history call
//   cache   subscribe (cache-mode namespace); 1 publication; disconnect; 5 more; reconnect;
//           then a marker publication; reports what arrived
//   notags  subscribe with a tags filter where the namespace does not allow it (error 107)
//   nodelta subscribe with delta where the namespace does not allow it; 3 publications
//   steps   subscribe with delta 'fossil'; publish each of args.steps ({data, params}: extra
//           publish params such as skip_history) through api[0]; every decoded publication is
//           compared with its step's data; reports offsets and deltaStats
import WebSocket from 'ws';
import EventSource from 'eventsource';
import SockJS from 'sockjs-client';
import { readFileSync } from 'node:fs';

const args = JSON.parse(process.argv[2]);
const mod = args.protobuf ? await import('centrifuge/build/protobuf') : await import('centrifuge');
const { Centrifuge } = mod;
const TIMEOUT = args.timeout || 15000;
const dec = new TextDecoder();
const out = { ok: false, scenario: args.scenario };

function withTimeout(promise, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), TIMEOUT);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// The publication's data as text: exact bytes for the protobuf build, re-serialized JSON
// for the JSON build (the SDK parses it).
function text(data) {
  if (data instanceof Uint8Array) return dec.decode(data);
  return JSON.stringify(data);
}

async function api(base, method, params) {
  // params.data is already JSON text: embedded verbatim, so the stored bytes are exactly it
  const { data, ...rest } = params;
  const body = JSON.stringify({ method, params: rest }).slice(0, -2) + `,"data":${data}}}`;
  const resp = await fetch(`${base}/api`, {
    method: 'POST',
    headers: { Authorization: `apikey ${args.apiKey}`, 'Content-Type': 'application/json' },
    body,
  });
  const reply = await resp.json();
  if (resp.status !== 200 || reply.error) throw new Error(`api ${method}: ${JSON.stringify(reply)}`);
  return reply.result;
}

const base = args.ws.replace(/^ws/, 'http').replace(/\/connection\/websocket$/, '');
const transport = args.transport || 'websocket';
const endpoints =
  transport === 'websocket' ? args.ws : [{ transport, endpoint: `${base}/connection/${transport}` }];
const client = new Centrifuge(endpoints, {
  token: args.token,
  websocket: WebSocket,
  eventsource: EventSource,
  sockjs: SockJS,
  sockjsOptions: { transports: ['xhr-streaming'] },
  fetch: globalThis.fetch,
  emulationEndpoint: `${base}/emulation`,
  minReconnectDelay: 100,
  maxReconnectDelay: 500,
  timeout: 5000,
});

const transports = [];
client.on('connected', (ctx) => transports.push(ctx.transport));

const received = [];
const subscribed = [];
const unsubscribed = [];
let wake = () => {};
function changed() {
  const w = wake;
  wake = () => {};
  w();
}
async function until(pred, what) {
  await withTimeout(
    (async () => {
      while (!pred()) await new Promise((r) => { wake = r; });
    })(),
    what,
  );
}

function subscribe(options) {
  const sub = client.newSubscription(args.channel, options);
  sub.on('publication', (ctx) => {
    received.push({ offset: ctx.offset, data: text(ctx.data), tags: ctx.tags || {} });
    changed();
  });
  sub.on('subscribed', (ctx) => {
    subscribed.push({ recovered: ctx.recovered, wasRecovering: ctx.wasRecovering });
    changed();
  });
  sub.on('unsubscribed', (ctx) => {
    unsubscribed.push({ code: ctx.code, reason: ctx.reason });
    changed();
  });
  sub.on('error', () => {});
  sub.subscribe();
  return sub;
}

async function reconnect() {
  client.disconnect();
  await until(() => client.state === 'disconnected', 'disconnected');
}

async function resume(count) {
  client.connect();
  await until(() => subscribed.length >= count, `subscribed #${count}`);
}

try {
  client.connect();
  if (args.scenario === 'delta') {
    const docs = JSON.parse(readFileSync(args.docsFile, 'utf8'));
    const sub = subscribe({ delta: 'fossil' });
    await until(() => subscribed.length === 1, 'subscribed');
    for (const doc of docs.slice(0, 10)) await api(args.api[0], 'publish', { channel: args.channel, data: doc });
    await until(() => received.length >= 10, '10 publications');
    await reconnect();
    for (const doc of docs.slice(10, 15)) await api(args.api[1], 'publish', { channel: args.channel, data: doc });
    await resume(2);
    for (const doc of docs.slice(15)) await api(args.api[1], 'publish', { channel: args.channel, data: doc });
    await until(() => received.length >= docs.length, `${docs.length} publications`);
    const norm = (t) => (args.protobuf ? t : JSON.stringify(JSON.parse(t)));
    out.mismatches = received
      .map((r, i) => (r.data === norm(docs[i]) && r.offset === i + 1 ? null : i))
      .filter((i) => i !== null);
    out.deltaStats = sub.deltaStats();
    out.subscribed = subscribed;
    out.count = received.length;
  } else if (args.scenario === 'steps') {
    // args.steps: [{data, params}] published in order through api[0]; every decoded
    // publication is reported
    const sub = subscribe({ delta: 'fossil' });
    await until(() => subscribed.length === 1, 'subscribed');
    for (const step of args.steps) {
      await api(args.api[0], 'publish', { channel: args.channel, data: step.data, ...(step.params || {}) });
    }
    await until(() => received.length >= args.steps.length, `${args.steps.length} publications`);
    const norm = (t) => (args.protobuf ? t : JSON.stringify(JSON.parse(t)));
    out.mismatches = received
      .map((r, i) => (r.data === norm(args.steps[i].data) ? null : i))
      .filter((i) => i !== null);
    out.offsets = received.map((r) => r.offset);
    out.deltaStats = sub.deltaStats();
  } else if (args.scenario === 'tags') {
    const filter = { key: 'ticker', cmp: 'in', vals: ['AAPL', 'MSFT'] };
    const sub = subscribe({ tagsFilter: filter });
    await until(() => subscribed.length === 1, 'subscribed');
    const tickers = ['AAPL', 'IBM', 'MSFT', 'IBM', 'AAPL', 'IBM', 'MSFT', 'IBM', 'IBM', 'AAPL'];
    const publish = (i) =>
      api(args.api[0], 'publish', { channel: args.channel, data: `{"i":${i}}`, tags: { ticker: tickers[i] } });
    for (let i = 0; i < 6; i++) await publish(i);
    await until(() => received.length >= 3, '3 matching');
    await reconnect();
    for (let i = 6; i < 10; i++) await publish(i);
    await resume(2);
    await until(() => received.length >= 5, '5 matching');
    await api(args.api[0], 'publish', { channel: args.channel, data: '{"i":10}', tags: { ticker: 'MSFT' } });
    await until(() => received.length >= 6, 'marker');
    out.received = received.map((r) => JSON.parse(r.data).i);
    out.offsets = received.map((r) => r.offset);
    const history = await sub.history({ limit: 100 });
    out.history = history.publications.map((p) => JSON.parse(text(p.data)).i);
    out.subscribed = subscribed;
  } else if (args.scenario === 'cache') {
    subscribe({});
    await until(() => subscribed.length === 1, 'subscribed');
    await api(args.api[0], 'publish', { channel: args.channel, data: '{"n":1}' });
    await until(() => received.length >= 1, 'first');
    await reconnect();
    for (let n = 2; n <= 6; n++) await api(args.api[0], 'publish', { channel: args.channel, data: `{"n":${n}}` });
    await resume(2);
    await until(() => received.length >= 2, 'latest');
    await api(args.api[0], 'publish', { channel: args.channel, data: '{"n":7}' });
    await until(() => received.length >= 3, 'marker');
    out.received = received.map((r) => JSON.parse(r.data).n);
    out.offsets = received.map((r) => r.offset);
    out.subscribed = subscribed;
  } else if (args.scenario === 'notags') {
    subscribe({ tagsFilter: { key: 'a', cmp: 'eq', val: 'b' } });
    await until(() => unsubscribed.length >= 1, 'unsubscribed');
    out.unsubscribed = unsubscribed;
    out.subscribed = subscribed;
  } else if (args.scenario === 'nodelta') {
    const sub = subscribe({ delta: 'fossil' });
    await until(() => subscribed.length === 1, 'subscribed');
    for (let n = 1; n <= 3; n++) await api(args.api[0], 'publish', { channel: args.channel, data: `{"n":${n}}` });
    await until(() => received.length >= 3, '3 publications');
    out.received = received.map((r) => JSON.parse(r.data).n);
    out.deltaStats = sub.deltaStats();
  } else {
    throw new Error(`unknown scenario ${args.scenario}`);
  }
  out.transports = transports;
  out.ok = true;
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
  out.received = received;
} finally {
  client.disconnect();
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}
