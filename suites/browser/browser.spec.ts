// The browser suite's checks under Playwright Test, against a local stack (COMFY_VERIFY_MODE=host|container,
// default host). The stack is a worker fixture: brought up once, removed at the end.
import { test as base, expect } from '@playwright/test';
import { localTopology, startLocalStack } from '../../stack/run.ts';
import { describeStack } from '../../stack/stack.ts';
import { localTarget } from '../lib/local-target.ts';
import { runCheck } from '../lib/check.ts';
import type { Target } from '../lib/target.ts';
import type { NginxMode } from '../../stack/topology.ts';
import { browserChecks } from '../browser.ts';

const mode = (process.env.COMFY_VERIFY_MODE ?? 'host') as NginxMode;

const test = base.extend<object, { target: Target }>({
  target: [async ({}, use) => {
    const stack = await startLocalStack(localTopology(mode));
    const target = localTarget(describeStack(stack));
    try {
      await use(target);
    } finally {
      await target.close();
      await stack.stop();
    }
  }, { scope: 'worker', timeout: 300_000 }],
});

for (const check of browserChecks) {
  test(`${check.id} (${mode} nginx)`, async ({ target }, info) => {
    const r = await runCheck(check, target);
    await info.attach('evidence.json', { body: JSON.stringify(r.evidence, null, 2), contentType: 'application/json' });
    expect(r.status, `${check.id}: ${r.message}`).toMatch(/^(pass|warn)$/);
  });
}
