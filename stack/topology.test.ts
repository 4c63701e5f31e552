import { describe, it, expect } from 'vitest';
import { describeTopology, userHostPort, userId, frontends, service, CONTRACT } from './topology.ts';

const secrets = { redisPassword: 'r'.repeat(64), adminUsername: 'admin', adminPassword: 'a'.repeat(32) };
const make = (mode: 'host' | 'container', users = 20) => describeTopology({ runId: 't', runDir: '/tmp/x', mode, secrets, users });

describe('topology', () => {
  it('names users and their host ports as the guide does (user N -> 8187+N)', () => {
    expect(userId(1)).toBe('user001');
    expect(userId(20)).toBe('user020');
    expect(userHostPort(1)).toBe(8188);
    expect(userHostPort(20)).toBe(8207);
  });

  it('has N user frontends, each mounting only its own output and input directories', () => {
    const t = make('host', 7);
    expect(frontends(t).map((s) => s.name)).toEqual(['user001', 'user002', 'user003', 'user004', 'user005', 'user006', 'user007']);
    for (const s of frontends(t)) {
      const rw = s.mounts.filter((m) => !m.readonly).map((m) => m.source);
      expect(rw).toEqual([`/tmp/x/data/outputs/${s.name}`, `/tmp/x/data/inputs/${s.name}`]);
    }
  });

  it('host mode: app services on 127.0.0.1 only; nginx on the host network', () => {
    const t = make('host');
    for (const s of t.services.filter((s) => s.kind !== 'redis')) {
      for (const p of s.publish) expect([`127.0.0.1`, CONTRACT.vpnAddress]).toContain(p.hostIp);
    }
    expect(service(t, 'user020').publish).toEqual([{ hostIp: '127.0.0.1', hostPort: 8207, containerPort: 8188 }]);
    expect(service(t, 'nginx').hostNetwork).toBe(true);
  });

  it('container mode: nothing but nginx published beyond the VPN address', () => {
    const t = make('container');
    const published = t.services.flatMap((s) => s.publish.filter((p) => p.hostIp !== CONTRACT.vpnAddress).map(() => s.name));
    expect([...new Set(published)]).toEqual(['nginx']);
  });

  it('Redis is published on the VPN address only, with a password and AOF', () => {
    for (const mode of ['host', 'container'] as const) {
      const r = service(make(mode), 'redis');
      expect(r.publish.map((p) => p.hostIp)).toEqual([CONTRACT.vpnAddress]);
      expect(r.command).toEqual(expect.arrayContaining(['--requirepass', secrets.redisPassword, '--appendonly', 'yes']));
    }
  });

  it('rejects impossible user counts', () => {
    expect(() => make('host', 0)).toThrow(/users/);
    expect(() => make('host', 100)).toThrow(/users/);
  });
});
