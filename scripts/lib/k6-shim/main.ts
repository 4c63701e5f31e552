// `k6-shim run [-e KEY=VALUE]... SCRIPT`: the shim as a stand-alone `k6 run` look-alike, with k6's
// exit codes (99: thresholds crossed). Ctrl-C stops the run; teardown and handleSummary still run.
import { parseArgs } from 'node:util';
import { runScript, K6_EXIT } from './run.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { env: { type: 'string', short: 'e', multiple: true } } });
if (positionals[0] !== 'run' || !positionals[1]) {
  console.error('usage: tsx scripts/lib/k6-shim/main.ts run [-e KEY=VALUE]... SCRIPT');
  process.exit(K6_EXIT.invalidConfig);
}
const env = Object.fromEntries((values.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const r = runScript({ script: positionals[1], env });
process.once('SIGINT', () => r.stop());
const res = await r.result;
if (res.error) console.error(`ERROR ${res.error}`);
if (res.failedThresholds.length) console.error(`ERROR thresholds crossed: ${res.failedThresholds.join('; ')}`);
process.exit(res.exitCode);
