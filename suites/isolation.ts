// isolation: one participant never sees another's images: not through their container,
// their URLs, /outputs/, nor by path tricks.
import { randomBytes } from 'node:crypto';
import { defineCheck, type CheckContext } from './lib/check.ts';
import { http, each, ask, seen } from './lib/http.ts';
import { tagMetadata } from './lib/writes.ts';
import { outputDirOf, outputDirs } from './lib/identity.ts';
import { couldNotLook, unjudgedText } from './lib/look.ts';

/** Writes a uniquely named marker into user A's outputs from A's own container; removes it afterwards. */
async function withMarker<T>(ctx: CheckContext, user: string, fn: (name: string) => Promise<T>): Promise<T> {
  const name = `comfy-verify-marker-${randomBytes(6).toString('hex')}.txt`;
  const content = `comfy-verify isolation marker for ${user}`;
  const dir = await outputDirOf(ctx, user);
  const w = await ctx.target.host!.serviceExec(user, ['sh', '-c', 'printf %s "$1" > "$2"', 'sh', content, `${dir}/${name}`]);
  ctx.record(`write marker in ${user}`, { exitCode: w.exitCode, stderr: w.stderr.slice(0, 120) }, `${user}: ${dir}/${name}`);
  ctx.expect(w.exitCode === 0, `a marker file written in ${user}'s output directory`, w.stderr.slice(0, 120));
  try {
    return await fn(name);
  } finally {
    await ctx.target.host!.serviceExec(user, ['rm', '-f', `${dir}/${name}`]);
  }
}

/** Inside a container: is the file at $1, or anywhere on any real filesystem mounted in it ($2 by
 *  name)? Each mount point is searched on its own (`find -xdev` alone stops at bind mounts, which is
 *  exactly where another user's outputs would be); kernel filesystems are skipped. It ends by saying
 *  how many filesystems it searched: without that line (no sh, no find, no /proc/mounts) it did not look. */
const SEARCH_MOUNTS = `command -v find >/dev/null || { echo "find: not found" >&2; exit 127; }
[ -r /proc/mounts ] || { echo "/proc/mounts: not readable" >&2; exit 2; }
ls "$1" 2>/dev/null
n=0
while read -r _dev mnt type _rest; do
  case "$type" in proc|sysfs|devpts|mqueue|cgroup|cgroup2|securityfs|debugfs|tracefs|pstore|bpf|configfs|fusectl|hugetlbfs|autofs|binfmt_misc|nsfs|devtmpfs) continue;; esac
  n=$((n+1))
  find "$mnt" -xdev -name "$2" 2>/dev/null | head -1
done < /proc/mounts
echo "searched $n filesystems"`;
const SEARCHED = /^searched ([1-9]\d*) filesystems$/m;

export const isolationChecks = [
  defineCheck({
    id: 'isolation.container-view', suite: 'isolation', title: 'a file in user A\'s outputs is invisible in every other user\'s container',
    // It writes (and removes) a marker file in a user's outputs: a write, so only with the write flag.
    needs: ['host', 'write'],
    async run(ctx) {
      const [a, ...others] = ctx.target.users;
      // With one workspace there is nobody to be isolated from: nothing to see, so no pass.
      if (!others.length) ctx.skip(`only ${a} is configured (NUM_USERS=1): isolation between users cannot be observed`);
      return withMarker(ctx, a, async (name) => {
        const seenBy: string[] = [];
        const unjudged: string[] = [];
        let searched = 0;
        const dirs = await outputDirs(ctx.target.host!, others);
        await each(others, async (b) => {
          // Its own output directory first (as its mount says), then every other real filesystem in it.
          const r = await ctx.target.host!.serviceExec(b, ['sh', '-c', SEARCH_MOUNTS, 'sh', `${dirs.get(b) ?? '/nonexistent'}/${name}`, name]);
          const why = couldNotLook(r) ?? (SEARCHED.test(r.stdout) ? undefined : `no filesystem searched (${r.stdout.trim().split('\n').at(-1) || 'no output'})`);
          if (why) return void unjudged.push(`${b}: ${why}`);
          searched++;
          const found = r.stdout.trim().split('\n').filter((l) => !SEARCHED.test(l));
          if (found.length) seenBy.push(`${b} sees ${found[0]}`);
        });
        ctx.record(`other users' containers (${others.length})`, { searched, seeingTheMarker: seenBy, couldNotLook: unjudged });
        ctx.expect(seenBy.length === 0, `${a}'s file invisible to the other ${others.length} users`, seenBy.join('; '));
        ctx.expect(unjudged.length === 0, `a search in each of the other ${others.length} containers`, unjudgedText('every container', unjudged));
        return `searched in ${searched} other containers: ${a}'s file in none`;
      });
    },
  }),
  defineCheck({
    id: 'isolation.cross-user-urls', suite: 'isolation', title: 'user B cannot fetch user A\'s output through B\'s workspace or /outputs/',
    // It writes (and removes) a marker file in a user's outputs: a write, so only with the write flag.
    needs: ['host', 'write'],
    async run(ctx) {
      const [a, ...others] = ctx.target.users;
      // With one workspace there is nobody to be isolated from: nothing to see, so no pass.
      if (!others.length) ctx.skip(`only ${a} is configured (NUM_USERS=1): isolation between users cannot be observed`);
      await withMarker(ctx, a, async (name) => {
        const own = await http(ctx, `/${a}/view?filename=${name}&type=output`, { label: `${a} views its own file` });
        ctx.expect(own.status === 200 && own.body.includes('isolation marker'), `${a} can view its own output through /${a}/view`, `HTTP ${own.status}`);
        const leaks: string[] = [];
        const unjudged: string[] = [];
        await each(others, async (b) => {
          for (const path of [`/${b}/view?filename=${name}&type=output`, `/${b}/view?filename=${name}&subfolder=../${a}&type=output`]) {
            const r = await ask(ctx.target, path);
            if (r.status === 200 && r.body.includes('isolation marker')) leaks.push(`${path} → 200 with ${a}'s file`);
            // ComfyUI's answers: the file, or its 400/403/404. No answer (5xx, a timeout) shows nothing.
            else if (![200, 400, 403, 404].includes(r.status)) unjudged.push(`${path} → ${seen(r)}`);
          }
        });
        ctx.record('other users\' /view', { leaks, couldNotLook: unjudged });
        ctx.expect(leaks.length === 0, `no other workspace serves ${a}'s file`, leaks.join('; '));
        ctx.expect(unjudged.length === 0, 'every other workspace answers /view (the file, or 400/403/404)', unjudgedText('these workspaces', unjudged));
        for (const path of ['/outputs/', `/outputs/${a}/`]) {
          const r = await http(ctx, path);
          ctx.expect(r.status < 500, `GET ${path} answers (a listing, 403 or 404)`, `HTTP ${r.status}: nothing to judge`);
          ctx.expect(!r.body.includes(name), `GET ${path} does not reveal ${a}'s file name`, `HTTP ${r.status} listing ${name}`);
        }
        const direct = await http(ctx, `/outputs/${a}/${name}`, { label: 'direct /outputs/ URL' });
        if (direct.status === 200 && direct.body.includes('isolation marker')) {
          ctx.warn(`/outputs/${a}/<file> is served to anyone who knows the file name, without authentication (the guide: "Optional: Add authentication here")`);
        }
      });
    },
  }),
  defineCheck({
    id: 'isolation.view-traversal', suite: 'isolation', title: '/view refuses path traversal in file names and subfolders',
    async run(ctx) {
      const attempts = [
        `filename=../../../../etc/passwd&type=output`,
        `filename=..%2F..%2F..%2F..%2Fetc%2Fpasswd&type=output`,
        `filename=passwd&subfolder=../../../../etc&type=output`,
        `filename=/etc/passwd&type=output`,
        `filename=passwd&type=../../../../etc`,
      ];
      // A refusal is ComfyUI's own 400/403/404. A workspace that does not answer (502, nginx's 404 for a
      // missing location) refuses nothing: it cannot be judged, and says so.
      const REFUSED = [400, 403, 404];
      const leaks: string[] = [];
      const unjudged: string[] = [];
      await each(ctx.target.users, async (u) => {
        const alive = await ask(ctx.target, `/${u}/system_stats`, { timeoutMs: 10_000 });
        if (alive.status !== 200 || !/comfyui_version/.test(alive.body)) return void unjudged.push(`${u}: its ComfyUI did not answer (/system_stats → ${seen(alive)})`);
        for (const q of attempts) {
          const r = await ask(ctx.target, `/${u}/view?${q}`, { timeoutMs: 10_000, maxBody: 200 });
          if (r.status === 200 || /root:.*:0:0:/.test(r.body)) leaks.push(`/${u}/view?${q} → HTTP ${r.status}`);
          else if (!REFUSED.includes(r.status)) unjudged.push(`/${u}/view?${q} → ${seen(r)}, not a refusal`);
        }
      }, 4);
      ctx.record('attempts', { users: ctx.target.users.length, each: attempts, leaks, unjudged });
      ctx.expect(leaks.length === 0, 'every traversal attempt refused', leaks.join('; '));
      ctx.expect(unjudged.length === 0, `every workspace refuses with ${REFUSED.join('/')}`, unjudged.join('; '));
      return `${attempts.length} traversal attempts refused by each of ${ctx.target.users.length} workspaces`;
    },
  }),
  defineCheck({
    id: 'isolation.user-id-validation', suite: 'isolation', title: 'path traversal in user_id is rejected (422) and nothing is stored',
    // A queue-manager that wrongly stores one announces it on /ws.
    needs: ['write'], jobEvents: true,
    async run(ctx) {
      const bad = ['../user002', 'user001/../user002', 'user001\\user002', '..', '', 'x'.repeat(101), 'user 001'];
      const accepted: string[] = [];
      for (const user_id of bad) {
        const r = await http(ctx, '/api/jobs', {
          method: 'POST', headers: { 'content-type': 'application/json' }, label: `user_id ${JSON.stringify(user_id.length > 20 ? `${user_id.slice(0, 8)}…(${user_id.length})` : user_id)}`,
          body: JSON.stringify({ user_id, workflow: { '1': { class_type: 'SaveImage', inputs: {} } }, metadata: tagMetadata('isolation.user-id-validation') }),
        });
        if (r.status !== 422) {
          accepted.push(`${JSON.stringify(user_id.slice(0, 20))} → HTTP ${r.status}`);
          const id = /"id"\s*:\s*"([^"]+)"/.exec(r.body)?.[1];
          if (id) await ctx.target.request(`/api/jobs/${id}`, { method: 'DELETE' }); // clean up what should not exist
        }
      }
      const list = await http(ctx, `/api/jobs?user_id=${encodeURIComponent('../user002')}`, { label: 'GET /api/jobs?user_id=../user002' });
      ctx.expect(accepted.length === 0, 'every bad user_id rejected with 422', accepted.join('; '));
      ctx.expect(list.status === 422, 'GET /api/jobs?user_id=../user002 → 422', `HTTP ${list.status}`);
    },
  }),
];
