// The suites, in the order an operator reads them. Each is a list of checks (data); runners
// (vitest, the CLI, the fault catalogue) run the same checks.
import type { Check, SuiteName } from './lib/check.ts';
import { healthChecks } from './health.ts';
import { routingChecks } from './routing.ts';
import { websocketChecks } from './websocket.ts';
import { tlsChecks } from './tls.ts';
import { exposureChecks } from './exposure.ts';
import { redisChecks } from './redis.ts';
import { secretsChecks } from './secrets.ts';
import { isolationChecks } from './isolation.ts';
import { accessChecks } from './access.ts';
import { jobsChecks } from './jobs.ts';
import { browserChecks } from './browser.ts';
import { hostChecks } from './host.ts';
import { resilienceChecks } from './resilience.ts';

export const SUITES: { name: SuiteName; title: string; checks: Check[] }[] = [
  { name: 'health', title: 'Health', checks: healthChecks },
  { name: 'routing', title: 'Routing', checks: routingChecks },
  { name: 'websocket', title: 'WebSockets', checks: websocketChecks },
  { name: 'tls', title: 'TLS', checks: tlsChecks },
  { name: 'exposure', title: 'Port exposure', checks: exposureChecks },
  { name: 'redis', title: 'Redis', checks: redisChecks },
  { name: 'secrets', title: 'Secrets (guide Step 1)', checks: secretsChecks },
  { name: 'isolation', title: 'User isolation', checks: isolationChecks },
  { name: 'access', title: 'Participant access', checks: accessChecks },
  { name: 'jobs', title: 'Jobs end to end', checks: jobsChecks },
  { name: 'browser', title: 'In the browser', checks: browserChecks },
  { name: 'host', title: 'Host (over SSH)', checks: hostChecks },
  // Last: its exclusive check restarts containers, after every other check has run.
  { name: 'resilience', title: 'Resilience', checks: resilienceChecks },
];

export const ALL_CHECKS: Check[] = SUITES.flatMap((s) => s.checks);

export function checkById(id: string): Check {
  const c = ALL_CHECKS.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}`);
  return c;
}
