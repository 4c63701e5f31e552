// `comfy-verify k6 run SCRIPT`: any k6 script on the built-in k6-compatible runner, with k6's exit
// codes, so operators can bring their own scenarios. k6 itself (AGPL) is neither fetched nor shipped.
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { HarnessError, EXIT } from '../lib/ui.ts';
import type { Command } from '../lib/args.ts';
import { runScript, K6_EXIT } from '../lib/k6-shim/run.ts';

const HELP = `comfy-verify k6 run [-e KEY=VALUE]... [--vus N] [--duration D] [--iterations N] SCRIPT
  Runs a k6 script on comfy-verify's k6-compatible runner (README, "The k6 shim": what it supports;
  anything else stops the run and says what). -e sets __ENV; --vus, --duration and --iterations
  override the script's options as k6 run does (they replace its scenarios).
  Exit codes are k6's: 0 passed, 99 thresholds crossed, 104 invalid configuration,
  105 stopped (Ctrl-C), 107 script error or unsupported feature, 108 aborted by the script.`;

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    env: { type: 'string', short: 'e', multiple: true }, vus: { type: 'string', short: 'u' }, duration: { type: 'string', short: 'd' },
    iterations: { type: 'string', short: 'i' }, help: { type: 'boolean', short: 'h' },
  } });
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
  const r = runScript({ script, env, overrides: { vus: int('vus', values.vus), duration: values.duration, iterations: int('iterations', values.iterations) } });
  process.once('SIGINT', () => r.stop());
  const res = await r.result;
  if (res.error) console.error(`ERROR ${res.error}`);
  if (res.failedThresholds.length) console.error(`ERROR thresholds crossed: ${res.failedThresholds.join('; ')}`);
  return res.exitCode;
}

export const k6Command: Command = { name: 'k6', summary: 'run any k6 script on the built-in k6-compatible runner (k6\'s exit codes)', help: HELP, run };
export { K6_EXIT };
