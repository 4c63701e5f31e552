// What the harness writes is bounded and tagged, so it can be recognised and cleaned up.
export const WRITE_TAG = 'comfy-verify';

export function tagMetadata(check: string): Record<string, unknown> {
  return { [WRITE_TAG]: true, check, submitted_at: new Date().toISOString(), frontend: 'comfy-verify' };
}
