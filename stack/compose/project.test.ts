// Reading an operator's compose project: env files as compose reads them, the documented changes
// (paths into the run directory, certificates, stand-ins, CPU limits), and the fixture's generated files.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvFile, pathOverrides, referencedVariables, replacements, overrideYaml, readDeployment, logicalName, type ComposeModel } from './project.ts';
import { ROOT } from '../images.ts';
import { GENERATED } from '../../fixtures/platform/generate.ts';

const FIXTURE = join(ROOT, 'fixtures/platform');

describe('compose project', () => {
  it('reads an env file as compose does: comments, export, quotes, empty values', () => {
    expect(parseEnvFile('# c\nexport A=1\nB="two words"\nC=\nD=x # note\n')).toEqual({ A: '1', B: 'two words', C: '', D: 'x' });
  });

  it('finds the variables of the compose file and what it includes', () => {
    const vars = referencedVariables(join(FIXTURE, 'docker-compose.yml'));
    expect(vars).toEqual(expect.arrayContaining(['REDIS_BIND_IP', 'SSL_CERT_PATH', 'OUTPUTS_PATH', 'USER_DATA_PATH']));
  });

  it('moves data paths into the run directory and points certificates at the generated ones', () => {
    const { env, changes } = pathOverrides(['OUTPUTS_PATH', 'SSL_CERT_PATH', 'SSL_KEY_PATH', 'REDIS_PASSWORD', 'MODELS_PATH'], { OUTPUTS_PATH: './data/outputs', SSL_CERT_PATH: '/etc/x/fullchain.pem' }, '/run');
    expect(env).toEqual({ OUTPUTS_PATH: '/run/data/outputs', SSL_CERT_PATH: '/run/tls/fullchain.pem', SSL_KEY_PATH: '/run/tls/privkey.pem', MODELS_PATH: '/run/data/models' });
    expect(changes.map((c) => c.what)).toContain('SSL_KEY_PATH=(unset) → /run/tls/privkey.pem');
  });

  it('stands in for a GPU service, keeps the rest, scales CPU limits; labels everything', () => {
    const model: ComposeModel = {
      name: 'p',
      services: {
        'worker-1': { image: 'x', cpus: 64, volumes: [{ type: 'bind', source: '/run/data/outputs', target: '/app/output' }], deploy: { resources: { reservations: { devices: [{ capabilities: ['gpu'] }] } } } },
        'queue-manager': { image: 'qm' },
        user001: { image: 'f' },
      },
      networks: { 'comfy-network': {} },
    };
    const repl = replacements(model, { file: '', standins: [], images: { 'user*': 'mine/comfyui:2' } });
    expect(repl.map((r) => [r.service, r.image])).toEqual([['worker-1', 'comfy-verify/worker:1'], ['user001', 'mine/comfyui:2']]);
    const { yaml, changes } = overrideYaml(model, (s) => ({ 'comfy-verify.run': 'r', ...(s ? { 'comfy-verify.service': s } : {}) }), repl);
    expect(yaml).toMatch(/"worker-1":\n(?:.*\n)*?    build: !reset null\n    deploy: !reset null/);
    expect(yaml).toContain('OUTPUT_DIR: "/app/output"');
    expect(yaml).toContain('"comfy-verify.service": "worker"');
    expect(changes.map((c) => c.what)).toEqual(expect.arrayContaining([expect.stringMatching(/^worker-1: cpus 64 → \d+$/)]));
    expect(logicalName('worker-1')).toBe('worker');
  });

  it('takes users, secrets and queue settings as compose passes them; the VPN from REDIS_BIND_IP', () => {
    const d = readDeployment({
      name: 'p', services: {
        user002: {}, user001: {}, redis: { command: ['redis-server', '--requirepass', 'pw'], ports: [{ target: 6379, host_ip: '100.64.1.2' }] },
        'queue-manager': { environment: { JOB_TIMEOUT: '8', QUEUE_MODE: 'round_robin', MAX_QUEUE_DEPTH: '' } }, admin: { environment: { ADMIN_PASSWORD: '' } },
      },
    }, {});
    expect(d).toMatchObject({ users: ['user001', 'user002'], vpnAddress: '100.64.1.2', secrets: { redisPassword: 'pw', adminUsername: 'admin', adminPassword: '' }, queue: { mode: 'round_robin', jobTimeoutSeconds: 8, maxQueueDepth: 100 } });
  });

  it('the fixture\'s generated files are up to date (npx tsx fixtures/platform/generate.ts)', () => {
    for (const [file, make] of Object.entries(GENERATED)) expect(readFileSync(join(FIXTURE, file), 'utf8'), file).toBe(make());
  });
});
