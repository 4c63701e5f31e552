// comfy-verify's command line. Every command: live progress, one clear line on bad input,
// exit codes 0 (all passed), 1 (a check failed), 2 (the harness could not run).
// Each command lives in scripts/commands/; add one there and list it here.
import { main, HarnessError, EXIT, bold } from './lib/ui.ts';
import type { Command } from './lib/args.ts';
import { verifyCommand } from './commands/verify.ts';
import { faultsCommand } from './commands/faults.ts';
import { stackCommand } from './commands/stack.ts';
import { loadCommand } from './commands/load.ts';
import { smokeCommand } from './commands/smoke.ts';
import { checklistCommand } from './commands/checklist.ts';
import { k6Command } from './commands/k6.ts';

const COMMANDS: Command[] = [
  verifyCommand,
  faultsCommand,
  stackCommand,
  smokeCommand,
  checklistCommand,
  loadCommand,
  k6Command,
];

void main(async () => {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(`${bold('comfy-verify')} <command> [options]   (--help on each command)\n`);
    for (const c of COMMANDS) console.log(`  ${c.name.padEnd(10)} ${c.summary}`);
    return EXIT.ok;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) throw new HarnessError(`unknown command "${name}"`, `commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
  if (rest.includes('--help') || rest.includes('-h')) return console.log(cmd.help), EXIT.ok;
  return cmd.run(rest);
});
