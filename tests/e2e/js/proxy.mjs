// One centrifuge-js scenario through Gyre's proxies; prints one JSON line.
//
//   node proxy.mjs '<json args>'
//
// args: {transports: [{transport, endpoint}], protobuf, headers, channel, emulationEndpoint}
// The client connects WITHOUT a token (the connect proxy authenticates it), subscribes to a
// proxied channel, makes an RPC and publishes into the channel (the publish proxy rewrites
// the data).  ``headers`` are sent as real HTTP headers with the connecting request: through
// a WebSocket constructor (the `ws` package) and a fetch wrapper (HTTP-streaming).
import WebSocket from 'ws';

const args = JSON.parse(process.argv[2]);
const mod = args.protobuf ? await import('centrifuge/build/protobuf') : await import('centrifuge');
const { Centrifuge } = mod;

const TIMEOUT = 10000;
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
const payload = (v) => (args.protobuf ? enc.encode(JSON.stringify(v)) : v);
const decode = (d) => (d instanceof Uint8Array ? JSON.parse(dec.decode(d)) : d);

class HeaderWebSocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols, { headers: args.headers });
  }
}
const fetchWithHeaders = (url, init = {}) =>
  globalThis.fetch(url, { ...init, headers: { ...(init.headers || {}), ...args.headers } });

const client = new Centrifuge(args.transports, {
  websocket: HeaderWebSocket,
  fetch: fetchWithHeaders,
  readableStream: globalThis.ReadableStream,
  emulationEndpoint: args.emulationEndpoint,
  minReconnectDelay: 100,
  maxReconnectDelay: 500,
  timeout: 5000,
});

try {
  const connected = new Promise((resolve, reject) => {
    client.on('connected', resolve);
    client.on('disconnected', (ctx) => reject(new Error(`disconnected: ${JSON.stringify(ctx)}`)));
  });
  client.connect();
  const ctx = await withTimeout(connected, 'connected');
  out.transport = ctx.transport;
  out.client = ctx.client;
  out.data = decode(ctx.data);
  out.steps.push('connected');

  const sub = client.newSubscription(args.channel);
  const pub = new Promise((resolve) => sub.on('publication', (p) => resolve(decode(p.data))));
  const subscribed = new Promise((resolve) => sub.on('subscribed', resolve));
  sub.subscribe();
  out.subscribeData = decode((await withTimeout(subscribed, 'subscribed')).data);
  out.steps.push('subscribed');

  out.rpc = decode((await withTimeout(client.rpc('whoami', payload({ q: 1 })), 'rpc')).data);
  out.steps.push('rpc');

  await withTimeout(sub.publish(payload({ text: 'hi' })), 'publish');
  out.publication = await withTimeout(pub, 'publication');
  out.steps.push('publication');
  out.ok = true;
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
} finally {
  client.disconnect();
}
console.log(JSON.stringify(out));
setTimeout(() => process.exit(out.ok ? 0 : 1), 50);
