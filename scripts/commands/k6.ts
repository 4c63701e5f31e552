// `comfy-verify k6 run SCRIPT`: any k6 script on the built-in k6-compatible runner, with k6's exit
// codes, so operators can bring their own scenarios. k6 itself (AGPL) is neither fetched nor shipped.
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { HarnessError, EXIT } from '../lib/ui.ts';
import type { Command } from '../lib/args.ts';
import { runScript, K6_EXIT, type RunOptions } from '../lib/k6-shim/run.ts';
import { jsonOutput } from '../lib/k6-shim/json-output.ts';
import { SHIM_VERSION } from '../lib/k6-shim/version.ts';

const HELP = `comfy-verify k6 run [-e KEY=VALUE]... [--vus N] [--duration D] [--iterations N]
                    [--out json=FILE] [--module URL=FILE]... [-q] [--log-format text|json] SCRIPT
comfy-verify k6 version
  Runs a k6 script on comfy-verify's k6-compatible runner (docs/k6-runner.md, "The k6 shim": what it supports;
  anything else stops the run and says what). -e sets __ENV; --vus, --duration and --iterations
  override the script's options as k6 run does (they replace its scenarios). --out json=FILE writes
  every sample as k6's JSON output does; --log-format json writes log lines as JSON objects, as k6
  does; -q is accepted (there is no progress bar to hide). So it can stand in where a k6 binary is
  expected (the tests of load --engine k6), though it is not k6 (version says so).
  Remote modules (https://jslib.k6.io/...) are never fetched: --module URL=FILE runs the script with
  a local copy in its place (a URL ending in / maps everything under it to a directory); a remote
  import not mapped stops the run (107) and names the URL. This flag is the runner's own, not k6's.
  Exit codes are k6's: 0 passed, 99 thresholds crossed, 104 invalid configuration,
  105 stopped (Ctrl-C), 107 script error or unsupported feature, 108 aborted by the script.`;

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    env: { type: 'string', short: 'e', multiple: true }, vus: { type: 'string', short: 'u' }, duration: { type: 'string', short: 'd' },
    iterations: { type: 'string', short: 'i' }, out: { type: 'string', short: 'o', multiple: true }, quiet: { type: 'boolean', short: 'q' },
    'log-format': { type: 'string' }, help: { type: 'boolean', short: 'h' }, module: { type: 'string', multiple: true },
  } });
  if (positionals[0] === 'version') return console.log(`${SHIM_VERSION} (a k6-compatible runner, not k6)`), EXIT.ok;
  if (values.help || positionals[0] !== 'run' || !positionals[1]) {
    console.log(HELP);
    return values.help ? EXIT.ok : EXIT.harness;
  }
  const script = resolve(positionals[1]);
  if (!existsSync(script)) throw new HarnessError(`no script at ${script}`, 'give the path of a k6 script (.js or .ts)');
  const env: Record<string, string> = {};
  for (const kv of values.env ?? []) {
    const i = kv.indexOf('=');
    if (i < 1) throw new HarnessError(`-e ${kv}: expected KEY=VALUE`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const int = (name: string, v?: string) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new HarnessError(`--${name} must be a whole number ≥ 1, got "${v}"`);
    return Number(v);
  };
  const outs = (values.out ?? []).map((o) => {
    if (!o.startsWith('json=') || o.length === 5) throw new HarnessError(`--out ${o}: this runner writes only json=FILE`);
    return resolve(o.slice(5));
  });
  const modules: Record<string, string> = {};
  for (const m of values.module ?? []) {
    const i = m.indexOf('=');
    const [url, file] = [m.slice(0, i), m.slice(i + 1)];
    if (i < 1 || !/^https?:\/\/./.test(url) || !file) throw new HarnessError(`--module ${m}: expected URL=FILE (an http(s) URL, then a local path)`);
    if (!existsSync(resolve(file))) throw new HarnessError(`--module ${m}: no file at ${resolve(file)}`);
    modules[url] = resolve(file);
  }
  const format = values['log-format'] ?? 'text';
  if (!['text', 'json'].includes(format)) throw new HarnessError(`--log-format must be text or json, not "${format}"`);
  // k6's JSON log lines (logrus: level, msg, time), read by `load --engine k6`
  const log: NonNullable<RunOptions['log']> = format === 'json'
    ? (level, msg) => console.error(JSON.stringify({ level: level === 'warn' ? 'warning' : level, msg, time: new Date().toISOString() }))
    : (level, msg) => console.error(`${level.toUpperCase()} ${msg}`);
  const files = outs.map((f) => jsonOutput(f, () => r.live.registry));
  const r = runScript({
    script, env, log, modules, onSample: files.length ? (s) => files.forEach((f) => f.sample(s)) : undefined,
    overrides: { vus: int('vus', values.vus), duration: values.duration, iterations: int('iterations', values.iterations) },
  });
  process.once('SIGINT', () => r.stop());
  const res = await r.result;
  await Promise.all(files.map((f) => f.close()));
  if (res.error) log('error', res.error);
  if (res.failedThresholds.length) log('error', `thresholds crossed: ${res.failedThresholds.join('; ')}`);
  return res.exitCode;
}

export const k6Command: Command = { name: 'k6', summary: 'run any k6 script on the built-in k6-compatible runner (k6\'s exit codes)', help: HELP, run };
export { K6_EXIT };
