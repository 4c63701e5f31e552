// A command run to look at something counts only when it really ran. A missing or stopped container,
// a missing program or shell, or an exit status the caller does not read as an answer is "could not
// look": never an empty answer, so never "nothing there".
export type Run = { exitCode: number; stdout: string; stderr: string };

/** A command's first words: its error, else its output. */
export const firstLine = (r: Run) => (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '';

/** Why this run is no answer, or undefined when it ran and answered. `answers`: the exit statuses that
 *  are an answer (grep's 1 is one). */
export function couldNotLook(r: Run, answers: number[] = [0]): string | undefined {
  if (answers.includes(r.exitCode)) return undefined;
  const line = firstLine(r);
  if (/No such container/i.test(r.stderr)) return 'no such container';
  if (/is not running|is paused|is restarting/i.test(r.stderr)) return 'its container is not running';
  if (r.exitCode === 127 || /executable file not found|: not found\b/i.test(r.stderr)) return `a program it needs is missing (exit ${r.exitCode}: ${line})`;
  if (r.exitCode === 126) return `a program it needs cannot run (exit 126: ${line})`;
  return `exit ${r.exitCode}${line ? `: ${line}` : ''}`;
}

/** "a; b; c; and N more" */
export const listSome = (xs: string[], n = 4) => `${xs.slice(0, n).join('; ')}${xs.length > n ? `; and ${xs.length - n} more` : ''}`;

/** What could not be judged, said as a failure: a check never passes over what it did not see. */
export const unjudgedText = (what: string, xs: string[]) => `could not look at ${what}: ${listSome(xs)}`;
