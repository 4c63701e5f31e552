// What `comfy-verify k6 version` prints and the load report names as its engine: the shim is not k6,
// and a report must never let it pass for k6.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
export const SHIM_VERSION = `comfy-verify k6 shim v${pkg.version}`;
