// verify, faults, test and stack run setup on demand when something is missing; when all is there
// this costs a couple of docker inspects and a content hash of each stand-in image (about a second).
import { execa } from 'execa';
import { HarnessError } from './ui.ts';
import { ensureImages } from '../../stack/images.ts';

export async function ensureReady(o: { images?: boolean } = {}): Promise<void> {
  const docker = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false }).catch(() => ({ exitCode: 127 }));
  const images = o.images === false ? true
    : (await execa('docker', ['image', 'inspect', 'comfy-verify/queue-manager:1', 'comfy-verify/nginx:1'], { reject: false }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
  if (docker.exitCode === 0 && images) {
    // Images follow the stand-ins' sources (content-hashed, seconds when nothing changed): a pull
    // that changed a stand-in must not run yesterday's image.
    if (o.images !== false) await ensureImages((m) => { if (!m.includes('up to date')) console.log(m); });
    return;
  }
  const { setup } = await import('../setup.ts');
  try {
    await setup();
  } catch (e) {
    if (e instanceof HarnessError) throw e;
    throw new HarnessError(`setup failed: ${(e as Error).message.split('\n')[0]}`, 'run npm run setup to see the full output');
  }
}
