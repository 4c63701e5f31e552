// Keys for the stand-in host's SSH server, made per run with the system's ssh-keygen: a host key
// (pinned in a known_hosts file, so the client never trusts blindly) and a client key whose public
// half is the only authorized key.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { execa } from 'execa';
import { CONTRACT } from './topology.ts';

export interface SshFiles {
  dir: string;
  /** the client's private key (ssh -i) */
  keyFile: string;
  /** pins the host key of [127.0.0.1]:2222 */
  knownHostsFile: string;
}

export const sshFiles = (runDir: string): SshFiles => ({
  dir: `${runDir}/ssh`, keyFile: `${runDir}/ssh/id_ed25519`, knownHostsFile: `${runDir}/ssh/known_hosts`,
});

export async function writeSshKeys(runDir: string): Promise<SshFiles> {
  const f = sshFiles(runDir);
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  for (const [file, comment] of [[`${f.dir}/host_key`, 'comfy-verify stand-in host'], [f.keyFile, 'comfy-verify']]) {
    if (!existsSync(file)) await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  }
  writeFileSync(`${f.dir}/authorized_keys`, readFileSync(`${f.keyFile}.pub`));
  writeFileSync(f.knownHostsFile, `[127.0.0.1]:${CONTRACT.sshPort} ${readFileSync(`${f.dir}/host_key.pub`, 'utf8')}`);
  return f;
}
