// The nginx.conf a stack runs: the reference site or the operator's own file, then any
// fault transforms. Certificates and outputs sit where the guide's site file expects them.
import { readFileSync } from 'node:fs';
import { CONTRACT, type Topology } from '../topology.ts';
import { referenceSite, nginxMainConf } from './reference.ts';
import { loadOperatorSite } from './operator.ts';

export function renderNginxConf(t: Topology): string {
  const certDir = CONTRACT.certDir(t.domain);
  const certPath = `${certDir}/fullchain.pem`;
  const keyPath = `${certDir}/privkey.pem`;
  const site = t.nginx.source.kind === 'reference'
    ? referenceSite({ domain: t.domain, users: t.users, mode: t.mode, certPath, keyPath, outputsDir: `${CONTRACT.hostOutputsDir}/`, resolveAtStart: t.nginx.resolveAtStart })
    : loadOperatorSite(readFileSync(t.nginx.source.file, 'utf8'), { certPath, keyPath });
  return t.nginx.transforms.reduce((conf, tr) => tr.apply(conf), nginxMainConf(site, { mode: t.mode }));
}
