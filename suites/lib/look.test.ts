// A command that did not run is no answer: each way docker exec or a shell says so is told apart
// from a command that ran and found nothing.
import { describe, it, expect } from 'vitest';
import { couldNotLook } from './look.ts';

const run = (exitCode: number, stderr = '', stdout = '') => ({ exitCode, stdout, stderr });

describe('couldNotLook', () => {
  it('a command that ran is an answer, with the exit statuses the caller reads as one', () => {
    expect(couldNotLook(run(0))).toBeUndefined();
    expect(couldNotLook(run(1), [0, 1])).toBeUndefined(); // grep: nothing matched
  });
  it('names why there was no answer: container missing or stopped, program missing or not runnable, any other exit', () => {
    expect(couldNotLook(run(1, 'Error response from daemon: No such container: cv-x-user002'))).toBe('no such container');
    expect(couldNotLook(run(1, 'Error response from daemon: container 4f2 is not running'))).toBe('its container is not running');
    expect(couldNotLook(run(127, 'sh: 1: find: not found'))).toMatch(/^a program it needs is missing \(exit 127: sh: 1: find: not found\)/);
    expect(couldNotLook(run(127, 'OCI runtime exec failed: exec: "sh": executable file not found in $PATH'))).toMatch(/program it needs is missing/);
    expect(couldNotLook(run(126, 'sh: 1: find: Permission denied'))).toMatch(/^a program it needs cannot run/);
    expect(couldNotLook(run(2, 'find: /x: No such file or directory'))).toBe('exit 2: find: /x: No such file or directory');
  });
});
