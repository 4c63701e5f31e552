// One run of checks against a deployment by its domain: settings, preflight, the checks, close.
// smoke, checklist and verify --target share it.
import { step, dim } from './ui.ts';
import { loadRemoteConfig, type TargetFlags } from './config.ts';
import { openRemoteTarget } from '../../suites/lib/remote-target.ts';
import { runChecks, describeCapability, type Check } from '../../suites/lib/check.ts';
import type { Capability } from '../../suites/lib/target.ts';
import { resultLine, rootCauses, type ModeResult, type RootCause } from './report.ts';
import { Watcher } from '../../suites/lib/watch.ts';

export interface RemoteRun { target: string; results: ModeResult[]; durationMs: number; rootCauses: RootCause[] }

export async function runRemote(checks: Check[], flags: TargetFlags, o: { quiet?: boolean; note?: string } = {}): Promise<RemoteRun> {
  const config = loadRemoteConfig(flags);
  const t0 = Date.now();
  const target = await openRemoteTarget(config);
  const watcher = new Watcher(target);
  try {
    step(`${target.name}: ${config.users} users, ${config.mode ? `${config.mode} nginx` : 'nginx mode unknown (USE_HOST_NGINX)'}${config.sources.length ? dim(` (settings: ${config.sources.join(', ')})`) : ''}`);
    const missing = (['write', 'vpn-vantage', 'host', 'admin', 'redis-password'] as Capability[]).filter((c) => !target.capabilities.has(c));
    const needed = missing.filter((c) => checks.some((k) => k.needs?.includes(c)));
    if (needed.length) step(dim(`skipped for want of: ${needed.map(describeCapability).join('; ')}`));
    step(`running ${checks.length} checks${o.note ? ` ${o.note}` : ''}`);
    // What can be reached is watched (through nginx, read-only): a service that stops answering is a root cause.
    await watcher.start();
    const results = (await runChecks(checks, target, {
      watcher, onResult: (r) => { if (!o.quiet) console.log(resultLine({ ...r, mode: 'remote' })); },
    })).map((r) => ({
      ...r, mode: 'remote',
      // Restarting a live deployment's containers is part of a remote run only with --allow-disruption:
      // without it, listed, not partial.
      ...(r.status === 'skip' && !target.capabilities.has('disrupt') && checks.find((c) => c.id === r.id)?.needs?.includes('disrupt') ? { outOfProfile: true } : {}),
    }));
    return { target: target.name, results, durationMs: Date.now() - t0, rootCauses: rootCauses('remote', watcher.outages()) };
  } finally {
    watcher.stop();
    await target.close();
  }
}
