import { describe, it, expect } from 'vitest';
import { CHECKLIST, checklistCheckIds, evaluate, checklistMarkdown } from './checklist.ts';
import { ALL_CHECKS } from '../../suites/index.ts';
import type { CheckResult } from '../../suites/lib/check.ts';

const result = (id: string, status: CheckResult['status'], message: string = status): CheckResult =>
  ({ id, suite: 'health', title: id, status, message, evidence: [], durationMs: 1, target: 't' });

describe('checklist', () => {
  it('names only existing checks, and covers the guide\'s Steps 1 and 8 and T-1 week/day/hour', () => {
    const ids = new Set(ALL_CHECKS.map((c) => c.id));
    expect(checklistCheckIds().filter((id) => !ids.has(id))).toEqual([]);
    expect(new Set(CHECKLIST.map((i) => i.phase)).size).toBe(5);
    expect(new Set(CHECKLIST.filter((i) => i.ref).map((i) => i.ref))).toEqual(new Set(['1', '8.1', '8.2', '8.3', '8.4', '8.5', '8.6']));
  });

  it('an item is the worst of its checks; a skipped (or missing) check is never a pass', () => {
    const items = [
      { phase: 'T-1 day' as const, item: 'a', checks: ['x', 'y'] },
      { phase: 'T-1 day' as const, item: 'b', checks: ['x', 'z'] },
      { phase: 'T-1 day' as const, item: 'c', checks: ['x', 'w'] },
      { phase: 'T-1 day' as const, item: 'd', checks: ['x', 'v'] },
      { phase: 'T-1 day' as const, item: 'e', checks: ['x', 'missing'] },
    ];
    const rs = [result('x', 'pass'), result('y', 'pass'), result('z', 'skip', 'needs the write flag'), result('w', 'warn'), result('v', 'fail')];
    const ev = evaluate(rs, items);
    expect(ev.map((i) => i.status)).toEqual(['pass', 'skip', 'warn', 'fail', 'skip']);
    expect(ev[1].notes).toEqual(['⏭ z: needs the write flag']);
    const md = checklistMarkdown(ev, { target: 'https://t', generatedAt: 'now', durationMs: 1000 });
    expect(md).toContain('| ⏭ | b | `x` `z` | ⏭ z: needs the write flag |');
    expect(md).toContain('1 passed · ⚠️ 1 warnings · ❌ 1 failed · ⏭ 2 not verified');
  });
});
