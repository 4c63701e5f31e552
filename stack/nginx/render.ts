// The nginx.conf a stack runs: the reference site or the operator's own file, then any
// fault transforms. Certificates and outputs sit where the guide's site file expects them.
import { readFileSync } from 'node:fs';
import { CONTRACT, HTPASSWD_DIR, type Topology } from '../topology.ts';
import { referenceSite, nginxMainConf } from './reference.ts';
import { loadOperatorSite, loadOperatorMain } from './operator.ts';

export function renderNginxConf(t: Topology): string {
  const certDir = CONTRACT.certDir(t.domain);
  const certPath = `${certDir}/fullchain.pem`;
  const keyPath = `${certDir}/privkey.pem`;
  const src = t.nginx.source;
  // A whole nginx.conf is the operator's main configuration as written: not wrapped in ours.
  const conf = src.kind === 'operator-main'
    ? loadOperatorMain(src.file, { certPath, keyPath })
    : nginxMainConf(src.kind === 'reference'
      ? referenceSite({ domain: t.domain, users: t.users, mode: t.mode, certPath, keyPath, outputsDir: `${CONTRACT.hostOutputsDir}/`, resolveAtStart: t.nginx.resolveAtStart,
        userAuthFile: t.userAuth && ((id) => `${HTPASSWD_DIR}/${t.userAuth!.fileFor[id] ?? id}`) })
      : loadOperatorSite(readFileSync(src.file, 'utf8'), { certPath, keyPath }), { mode: t.mode });
  return t.nginx.transforms.reduce((c, tr) => tr.apply(c), conf);
}
