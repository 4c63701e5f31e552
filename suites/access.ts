// Participant access: each /userNNN/ behind HTTP Basic auth with that participant's own credential,
// so participants cannot open each other's workspaces. Checked from the outside, as a participant
// would try it: no credentials, their own, and every other participant's.
import { defineCheck, type CheckContext } from './lib/check.ts';
import { http, each, ask, seen } from './lib/http.ts';
import { basicHeader } from './lib/target.ts';
import { hostRun } from './host.ts';
import { firstLine, listSome as more, unjudgedText } from './lib/look.ts';

/** Opens /userNNN/ws and closes it: 'open', or why not (the HTTP status of a refused upgrade). */
async function wsAttempt(ctx: CheckContext, path: string, o: { as?: string | null; headers?: Record<string, string> }): Promise<string> {
  return ctx.target.websocket(path, { ...o, timeoutMs: 10_000 }).then((ws) => { ws.terminate(); return 'open'; }, (e: Error) => e.message);
}

/** The participants' passwords, or why the check cannot or need not run: a deployment that asks for
 *  credentials without being given them is a skip (the run is partial); one without per-user auth at
 *  all has nothing here to verify (access.workspace-auth warns about that). */
async function credentials(ctx: CheckContext): Promise<Readonly<Record<string, string>>> {
  const creds = ctx.target.userCredentials();
  if (creds) return creds;
  const u = ctx.target.users[0];
  const r = await http(ctx, `/${u}/system_stats`, { as: null, label: `/${u}/system_stats without credentials` });
  if (r.status === 401) ctx.skip(`the workspaces ask for credentials (/${u}/ → 401): give --user-credentials FILE (user:password lines)`);
  return ctx.notApplicable(`no per-user auth on this deployment (/${u}/system_stats answers HTTP ${r.status} without credentials; access.workspace-auth warns)`);
}

export const accessChecks = [
  defineCheck({
    id: 'access.workspace-auth', suite: 'access', title: 'without credentials no /userNNN/ opens (page, API, WebSocket); a 401 carries a Basic challenge',
    async run(ctx) {
      const users = ctx.target.users;
      if (!ctx.target.userCredentials()) {
        const r = await http(ctx, `/${users[0]}/`, { as: null, label: `/${users[0]}/ without credentials` });
        if (r.status === 401) ctx.skip(`/${users[0]}/ asks for credentials (401): give --user-credentials FILE (user:password lines) to verify the workspaces behind them`);
        ctx.warn(`no per-user auth: /${users[0]}/ answers HTTP ${r.status} without credentials, so any participant can open any workspace (HTTP Basic auth on each /userNNN/, one htpasswd entry per participant, keeps them apart)`);
        return 'no per-user auth configured';
      }
      const open: string[] = [];
      await each(users, async (u) => {
        for (const path of [`/${u}/`, `/${u}/system_stats`]) {
          const r = await ctx.target.request(path, { as: null, maxBody: 200 });
          const challenge = r.headers['www-authenticate'] ?? '';
          // Open is what matters here; a workspace that is missing or down (404, 502) is health's finding.
          if (r.status < 400 || (r.status === 401 && !/^Basic/i.test(challenge))) open.push(`${path} → HTTP ${r.status}${r.status === 401 ? ` without a Basic challenge (${challenge || 'none'})` : ''}`);
        }
        const ws = await wsAttempt(ctx, `/${u}/ws`, { as: null });
        if (ws === 'open') open.push(`/${u}/ws → upgraded (101)`);
      });
      ctx.record('page, API and WebSocket of every workspace, without credentials', { workspaces: users.length, notRefused: open });
      ctx.expect(open.length === 0, 'no workspace opens to a visitor without credentials (401, WWW-Authenticate: Basic)', more(open));
      return `${users.length} workspaces: page, API and WebSocket answer 401 with a Basic challenge`;
    },
  }),
  defineCheck({
    id: 'access.own-credentials', suite: 'access', title: 'each participant\'s own credentials are accepted by their workspace and its WebSocket',
    async run(ctx) {
      await credentials(ctx);
      const bad: string[] = [];
      const unjudged: string[] = [];
      await each(ctx.target.users, async (u) => {
        // Accepted is a 200 and a 101. Refused (401, 403) is this check's finding; a workspace that does
        // not answer (404, 502, a timeout) accepted nobody, and is no pass either.
        const r = await ask(ctx.target, `/${u}/system_stats`, { maxBody: 200 });
        if (r.status === 401 || r.status === 403) bad.push(`/${u}/system_stats as ${u} → HTTP ${r.status}`);
        else if (r.status !== 200) unjudged.push(`/${u}/system_stats → ${seen(r)}`);
        const ws = await wsAttempt(ctx, `/${u}/ws`, {});
        if (/HTTP 40[13]\b/.test(ws)) bad.push(`/${u}/ws as ${u} → ${ws}`);
        else if (ws !== 'open') unjudged.push(`/${u}/ws → ${ws}`);
      });
      ctx.record('every workspace with its own participant\'s credentials', { workspaces: ctx.target.users.length, refused: bad, noAnswer: unjudged });
      ctx.expect(bad.length === 0, 'no participant is refused by their own workspace', more(bad));
      ctx.expect(unjudged.length === 0, 'every workspace opens with its participant\'s credentials (200, and 101 for its WebSocket)', unjudgedText('these workspaces', unjudged));
      return `${ctx.target.users.length} participants into their own workspace and its WebSocket`;
    },
  }),
  defineCheck({
    id: 'access.cross-user', suite: 'access', title: 'no participant\'s password opens another\'s workspace (every pair, both user names)',
    async run(ctx) {
      const creds = await credentials(ctx);
      const users = ctx.target.users.filter((u) => creds[u] !== undefined);
      ctx.expect(users.length >= 2, 'credentials for at least two participants', `${users.length}`);
      // Every ordered pair (20 users: 380), each tried twice: the intruder's own user:password, and
      // the intruder's password under the victim's name (one password shared by all would pass that).
      // A refusal means something only from a workspace that lets its own participant in: each victim's
      // own credentials first (200), then every intruder's, where only 401/403 is a refusal. A break-in
      // counts wherever it happens, also where the victim's own password is refused.
      const unjudged: string[] = [];
      const victims = new Set<string>();
      await each(users, async (v) => {
        const r = await ask(ctx.target, `/${v}/system_stats`, { headers: { authorization: basicHeader(v, creds[v]) }, maxBody: 100 });
        if (r.status === 200) victims.add(v);
        else unjudged.push(`/${v}/ does not open with ${v}'s own password (${seen(r)})`);
      });
      const pairs = users.flatMap((a) => users.filter((b) => b !== a).map((b) => [a, b] as const));
      const opened: string[] = [];
      await each(pairs, async ([intruder, victim]) => {
        for (const name of [intruder, victim]) {
          const r = await ask(ctx.target, `/${victim}/system_stats`, { headers: { authorization: basicHeader(name, creds[intruder]) }, maxBody: 100 });
          const who = `${intruder}'s password${name === victim ? ` (as ${victim})` : ''}`;
          if (r.status > 0 && r.status < 400) opened.push(`${who} opens /${victim}/ (HTTP ${r.status})`);
          else if (victims.has(victim) && r.status !== 401 && r.status !== 403) unjudged.push(`${who} on /${victim}/ → ${seen(r)}, not a refusal`);
        }
      }, 16);
      ctx.record('every participant\'s password against every other workspace', { victimsOpenToTheirOwn: victims.size, pairs: pairs.length, requests: pairs.length * 2, opened, couldNotJudge: unjudged.length });
      ctx.expect(opened.length === 0, 'no participant gets into another\'s workspace', more(opened));
      ctx.expect(unjudged.length === 0, 'each workspace opens to its own participant and refuses every other (401/403)', unjudgedText('these', unjudged));
      return `${pairs.length} intruder/victim pairs, each refused under both names`;
    },
  }),
  defineCheck({
    id: 'access.htpasswd-files', suite: 'access', title: 'the htpasswd files nginx reads exist, are not world-readable and hold one entry per participant',
    needs: ['host'],
    async run(ctx) {
      await credentials(ctx);
      // The files nginx really uses: auth_basic_user_file in its running configuration (nginx -T).
      const inContainer = ctx.target.mode === 'container';
      const dump = inContainer ? await ctx.target.host!.serviceExec('nginx', ['nginx', '-T']) : await hostRun(ctx, ['nginx', '-T']);
      ctx.expect(dump.exitCode === 0, 'nginx -T prints the running configuration', firstLine(dump));
      const files = [...new Set([...dump.stdout.matchAll(/^\s*auth_basic_user_file\s+([^;\s]+);/gm)].map((m) => m[1]))];
      ctx.record('auth_basic_user_file in nginx -T', files);
      ctx.expect(files.length > 0, 'nginx reads htpasswd files (auth_basic_user_file)', 'none in its configuration');
      const run = (cmd: string[]) => (inContainer ? ctx.target.host!.serviceExec('nginx', cmd) : hostRun(ctx, cmd));
      // One shell for all the files (one exec or SSH round trip, not two per participant): for each,
      // a "== FILE" line, its mode and owner (or "missing"), then its user names.
      const listing = await run(['sh', '-c', 'for f do echo "== $f"; stat -L -c "%a %U:%G" "$f" 2>/dev/null || { echo missing; continue; }; cut -d: -f1 "$f"; done', 'sh', ...files]);
      ctx.expect(listing.exitCode === 0, 'the files can be listed (sh, stat, cut)', firstLine(listing));
      const problems: string[] = [];
      const entries: string[] = [];
      for (const block of listing.stdout.split(/^== /m).slice(1)) {
        const [f, st = '', ...names] = block.split('\n').map((l) => l.trim());
        if (st === 'missing') { problems.push(`${f} does not exist`); continue; }
        const [mode, owner] = st.split(' ');
        ctx.record(`stat ${f}`, { mode, owner });
        if (Number.parseInt(mode, 8) & 0o004) problems.push(`${f} is world-readable (mode ${mode}): any local account can copy the password hashes`);
        entries.push(...names.filter(Boolean));
      }
      const missing = ctx.target.users.filter((u) => !entries.includes(u));
      const twice = [...new Set(entries.filter((e, i) => entries.indexOf(e) !== i))];
      if (missing.length) problems.push(`no entry for ${more(missing, 6)}`);
      if (twice.length) problems.push(`more than one entry for ${more(twice, 6)}`);
      ctx.expect(problems.length === 0, 'every file present and private, one entry per participant', problems.join('; '));
      return `${files.length} file(s), ${entries.length} entries, none world-readable`;
    },
  }),
];
