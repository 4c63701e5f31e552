// Shared argument parsing: one clear line for each bad value.
import { HarnessError } from './ui.ts';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CONTRACT, type NginxMode, type NginxSpec } from '../../stack/topology.ts';

export interface Command {
  name: string;
  summary: string;
  help: string;
  run(args: string[]): Promise<number>;
}

export function parseMode(v: string | undefined): NginxMode {
  if (v === undefined || v === 'host' || v === 'container') return (v ?? 'host') as NginxMode;
  throw new HarnessError(`--mode must be host or container, not "${v}"`);
}

export function parseModes(v: string | undefined): NginxMode[] {
  return v === undefined || v === 'both' ? ['host', 'container'] : [parseMode(v)];
}

export function parseUsers(v: string | undefined): number {
  if (v === undefined) return CONTRACT.users;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 99) throw new HarnessError(`--users must be a whole number from 1 to 99, not "${v}"`);
  return n;
}

/** --nginx-site FILE: the operator's own site file, used as written (but certificate paths and ports). */
/** --nginx-site FILE (a site file, wrapped in our main configuration) or --nginx-conf FILE (a whole
 *  nginx.conf, its includes read beside it); neither: the reference configuration. */
export function parseNginxSource(site: string | undefined, conf: string | undefined): NginxSpec['source'] {
  if (site !== undefined && conf !== undefined) throw new HarnessError('give --nginx-site or --nginx-conf, not both', '--nginx-site takes a site file (server blocks); --nginx-conf a whole nginx.conf');
  if (conf === undefined) return parseNginxSite(site);
  const file = resolve(conf);
  if (!existsSync(file)) throw new HarnessError(`--nginx-conf: no such file ${conf}`, 'give the path of your nginx.conf (its include files beside it, as under /etc/nginx)');
  return { kind: 'operator-main', file };
}

export function parseNginxSite(v: string | undefined): NginxSpec['source'] {
  if (v === undefined) return { kind: 'reference' };
  const file = resolve(v);
  if (!existsSync(file)) throw new HarnessError(`--nginx-site: no such file ${v}`, 'give the path of your nginx site file (e.g. /etc/nginx/sites-available/DOMAIN)');
  return { kind: 'operator', file };
}
