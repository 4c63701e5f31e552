// For tests: "the operator's k6" without k6. A `k6` in `dir` that notes its arguments (argv.txt beside
// it) and runs comfy-verify's shim with them, which reads k6's flags and writes k6's JSON output.
import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../../stack/images.ts';

export function fakeK6(dir: string): string {
  const path = join(dir, 'k6');
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/argv.txt"\nexec "${process.execPath}" "${ROOT}/scripts/bin.mjs" k6 "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}
