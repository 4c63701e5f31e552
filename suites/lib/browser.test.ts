// Where the browser checks leave their screenshots, and when they take none.
import { describe, it, expect } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckContext } from './check.ts';
import { screenshotsDir } from './browser.ts';
import type { Target } from './target.ts';

const target = { name: 't', domain: 'example.invalid', publicAddress: 'example.invalid', capabilities: new Set() } as unknown as Target;

describe('screenshots', () => {
  it('none where no report keeps them (fault runs); else the run\'s directory', () => {
    const ctx = new CheckContext(target, new AbortController().signal);
    ctx.artifactsDir = null;
    expect(screenshotsDir(ctx)).toBeUndefined();
    ctx.artifactsDir = join(tmpdir(), 'cv-artifacts-test');
    expect(screenshotsDir(ctx)).toBe(join(tmpdir(), 'cv-artifacts-test', 'screenshots'));
  });
});
