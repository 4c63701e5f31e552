// Shared argument parsing: one clear line for each bad value.
import { HarnessError } from './ui.ts';
import { CONTRACT, type NginxMode } from '../../stack/topology.ts';

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
