// Terminal output for operators: one line per step, no stack traces.
import { redact } from '../../stack/secrets.ts';

const tty = process.stdout.isTTY;
const paint = (code: string) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
export const green = paint('32');
export const red = paint('31');
export const yellow = paint('33');
export const dim = paint('2');
export const bold = paint('1');

let quiet = false;
export const setQuiet = (q: boolean) => void (quiet = q);

export function step(msg: string): void {
  if (!quiet) console.log(redact(`${dim('•')} ${msg}`));
}
export function done(msg: string): void {
  if (!quiet) console.log(redact(`${green('✔')} ${msg}`));
}
export function warn(msg: string): void {
  console.log(redact(`${yellow('⚠')} ${msg}`));
}

/** The harness could not run (bad input, missing Docker, ...): exit code 2, one clear line. */
import { HarnessError } from '../../stack/errors.ts';
export { HarnessError };

/** 3: nothing failed, but checks of the run were not run (no SSH, no VPN vantage, no write flag...). */
export const EXIT = { ok: 0, checkFailed: 1, harness: 2, partial: 3 } as const;

/** Runs an entry point; any error becomes one line and exit code 2. */
export async function main(fn: () => Promise<number | void>): Promise<void> {
  // A stray rejection inside a check must not kill a run that is removing its stack.
  process.on('unhandledRejection', (e) => console.error(redact(`${yellow('⚠')} ignored: ${(e as Error)?.message ?? String(e)}`)));
  try {
    const code = await fn();
    process.exitCode = code ?? 0;
  } catch (e) {
    const err = e as Error & { hint?: string };
    const msg = err instanceof HarnessError ? err.message : `${err?.message ?? String(e)}`.split('\n')[0];
    console.error(redact(`${red('✖')} ${msg}${err.hint ? `\n  → ${err.hint}` : ''}`));
    if (process.env.COMFY_VERIFY_DEBUG) console.error(redact(String(err?.stack)));
    process.exitCode = EXIT.harness;
  }
}
