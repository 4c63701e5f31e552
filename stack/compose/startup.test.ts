// Start-up as the project defines it: judged from `docker inspect`, by the project's own healthcheck timing.
import { describe, it, expect } from 'vitest';
import { healthTools, healthConfig, windowMs, judge, missingCommand, type Inspected } from './startup.ts';
import { overrideYaml, type ComposeModel } from './project.ts';

const S = 1e9; // docker inspect's durations are nanoseconds
const T0 = Date.parse('2026-12-05T20:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const probe = (s: number, ExitCode: number, Output = '') => ({ Start: at(s), End: at(s + 0.1), ExitCode, Output });
function container(o: { image?: string; status?: string; health?: string; log?: ReturnType<typeof probe>[]; restarts?: number; hc?: Inspected['Config']['Healthcheck'] | null; streak?: number }): Inspected {
  const hc = o.hc === null ? undefined : o.hc ?? { Test: ['CMD', 'curl', '-f', 'http://localhost:8188/system_stats'], Interval: 60 * S, Timeout: 10 * S, StartPeriod: 120 * S, Retries: 3 };
  return {
    Name: '/comfy-worker-1', RestartCount: o.restarts ?? 0,
    Config: { Image: o.image ?? 'comfy-verify/worker:1', Healthcheck: hc },
    State: { Status: o.status ?? 'running', StartedAt: at(0), ...(hc ? { Health: { Status: o.health ?? 'starting', FailingStreak: o.streak ?? 0, Log: o.log ?? [] } } : {}) },
  };
}

describe('start-up', () => {
  it('names the programs a healthcheck runs, in either form', () => {
    expect(healthTools(['CMD', 'curl', '-f', 'http://localhost/health/ping'])).toEqual(['curl']);
    expect(healthTools(['CMD-SHELL', 'redis-cli --no-auth-warning -a "$REDIS_PASSWORD" ping | grep -q PONG'])).toEqual(['redis-cli', 'grep']);
    expect(healthTools(['CMD-SHELL', 'wget -qO- http://localhost:3000/health || exit 1'])).toEqual(['wget']);
    expect(healthTools(['NONE'])).toEqual([]);
  });

  it('takes docker\'s defaults where the healthcheck leaves them out; its window is start_period then retries probes', () => {
    const h = healthConfig({ Test: ['CMD', 'true'] })!;
    expect(h).toMatchObject({ intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, retries: 3 });
    expect(windowMs(healthConfig(container({}).Config.Healthcheck)!)).toBe(120_000 + 4 * 70_000);
    expect(healthConfig({ Test: ['NONE'] })).toBeUndefined();
  });

  it('a service still within its healthcheck\'s window is late, not dead; past it, it never answered', () => {
    expect(judge(container({ log: [probe(60, 7, 'curl: (7) Failed to connect')] }), 1, T0 + 70_000)).toBeUndefined();
    expect(judge(container({}), 0, T0 + 500_000)).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/not healthy within its healthcheck's window \(start_period 120 s, then 3 × 60 s/) });
  });

  it('healthy after failed probes: ready, timed from its start to the probe that passed', () => {
    const v = judge(container({ health: 'healthy', log: [probe(60, 7), probe(120, 7), probe(180, 0)] }), 2, T0 + 190_000);
    expect(v).toEqual({ kind: 'ready', afterMs: 180_100, failedProbes: 2 });
  });

  it('exited, restarting, unhealthy for its own reason: failed, with why', () => {
    expect(judge(container({ status: 'exited' }), 0, T0)).toMatchObject({ kind: 'failed', reason: 'exited' });
    expect(judge(container({ restarts: 2 }), 0, T0)).toMatchObject({ kind: 'failed', reason: /restarts in a loop/ });
    expect(judge(container({ health: 'unhealthy', streak: 3, log: [probe(60, 22, 'curl: (22) The requested URL returned error: 503')] }), 3, T0 + 200_000))
      .toMatchObject({ kind: 'failed', reason: /unhealthy: .*3 time\(s\).*exit 22: curl: \(22\) .*503/ });
  });

  it('a healthcheck whose command our image lacks is the harness\'s, never the service\'s; in the operator\'s own image it is theirs', () => {
    const missing = probe(60, -1, 'OCI runtime exec failed: exec failed: container_linux.go:380: starting container process caused: exec: "curl": executable file not found in $PATH: unknown');
    expect(missingCommand(missing)).toBe(true);
    expect(missingCommand(probe(1, 127, '/bin/sh: 1: wget: not found'))).toBe(true);
    expect(missingCommand(probe(1, 7, 'curl: (7) Failed to connect to localhost port 8188'))).toBe(false);
    expect(judge(container({ health: 'unhealthy', log: [missing] }), 0, T0 + 200_000)).toMatchObject({ kind: 'harness', tool: 'curl', line: /calls curl, which our stand-in image comfy-verify\/worker:1 does not have/ });
    expect(judge(container({ image: 'registry.example/worker:2', health: 'unhealthy', log: [missing] }), 0, T0 + 200_000)).toMatchObject({ kind: 'failed' });
  });

  it('no healthcheck: running (for two seconds) is ready', () => {
    expect(judge(container({ hc: null }), 0, T0 + 1000)).toBeUndefined(); // a crash at once is still to be seen
    expect(judge(container({ hc: null }), 0, T0 + 3000)).toMatchObject({ kind: 'ready', failedProbes: 0 });
  });

  it('dependents of a healthcheck that cannot run here wait for it started, and the report lists the change', () => {
    const model: ComposeModel = { name: 'p', services: {
      'queue-manager': { image: 'comfy-verify/queue-manager:1', healthcheck: { test: ['CMD', 'wget', 'http://localhost:3000/health'] } },
      admin: { image: 'comfy-verify/admin:1', depends_on: { 'queue-manager': { condition: 'service_healthy' } } },
      user001: { image: 'comfy-verify/frontend:1', depends_on: { 'queue-manager': { condition: 'service_started' } } },
    } };
    const { yaml, changes } = overrideYaml(model, () => ({}), [], new Set(['queue-manager']));
    expect(yaml).toMatch(/"admin":\n(?:.*\n)*?    depends_on:\n      "queue-manager":\n        condition: service_started\n/);
    expect(yaml.split('"user001":')[1]).not.toMatch(/depends_on/);
    expect(changes.map((c) => c.what)).toEqual(['admin: depends_on queue-manager service_started (not service_healthy)']);
  });
});
