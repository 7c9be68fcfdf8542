// Decodes fossil deltas with centrifuge-js's own decoder (applyDelta of the installed SDK
// build), as the oracle for gyre's encoder.
//
//   node fossil_oracle.mjs < cases.jsonl
//
// Each input line: {"base": <base64>, "delta": <base64>}; each output line:
// {"target": <base64>} or {"error": <message>}.  applyDelta is not exported by the SDK, so
// its source (from the zValue table to the end of applyDelta) is cut out of build/index.js.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const src = readFileSync(join(here, 'node_modules', 'centrifuge', 'build', 'index.js'), 'utf8');
const start = src.indexOf('const zValue = [');
const end = src.indexOf('/** @internal */\nclass JsonCodec');
if (start < 0 || end < 0) throw new Error('applyDelta not found in the centrifuge build');
const applyDelta = new Function(`${src.slice(start, end)}\nreturn applyDelta;`)();

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const c = JSON.parse(line);
  try {
    const out = applyDelta(
      new Uint8Array(Buffer.from(c.base, 'base64')),
      new Uint8Array(Buffer.from(c.delta, 'base64')),
    );
    process.stdout.write(JSON.stringify({ target: Buffer.from(out).toString('base64') }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: String(e.message || e) }) + '\n');
  }
}
