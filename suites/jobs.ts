// jobs: the queue end to end through nginx, as the contract describes it: a job's life, its
// events and its image; failure, cancel, priority, the serving order, a full queue, bad input.
//
// These checks must hold on a real deployment, whose worker and settings we cannot change. So they
// use only the public API (the worker routes too), give their jobs our own user ids (never a
// participant's, except the one job whose image must land in a user's outputs), tag every job and
// remove what they created. Completed, failed and cancelled jobs cannot be deleted (the contract
// answers 400): they stay in the queue's history, tagged `comfy-verify` in their metadata.
import { couldNotLook, unjudgedText } from './lib/look.ts';
import { randomBytes } from 'node:crypto';
import { defineCheck, type CheckContext } from './lib/check.ts';
import { http, json, each, ask, seen } from './lib/http.ts';
import { tagMetadata } from './lib/writes.ts';
import { Jobs, EventLog, FINISHED, PNG_SIGNATURE, outputFiles, removeOutputs, probeUser, probeWorkflow, sleep, type Job, type OutputFile } from './lib/jobs.ts';
import { outputDirs } from './lib/identity.ts';

/** The probe's worker id, when it has to act as a worker itself (see jobs.failure). */
export const PROBE_WORKER = 'comfy-verify-probe';
const TIMEOUT_MS = 45_000;
/** How long a job may wait for the worker: the local worker takes ~2-4 s a job, and up to ~8 jobs
 *  of concurrent checks may be ahead of it. */
const WAIT_MS = 30_000;
const JSON_HEADERS = { 'content-type': 'application/json' };
const started = (j: Job | null) => !j || j.status !== 'pending';

/** Runs body with a Jobs, whose jobs are removed afterwards. */
async function withJobs<T>(ctx: CheckContext, check: string, body: (jobs: Jobs) => Promise<T>): Promise<T> {
  const jobs = new Jobs(ctx, check);
  try {
    return await body(jobs);
  } finally {
    await jobs.cleanup();
  }
}

/** Runs body with the /ws events from now on (only checks about events, or that must react to one). */
async function withEvents<T>(ctx: CheckContext, body: (events: EventLog) => Promise<T>): Promise<T> {
  const events = await EventLog.open(ctx);
  try {
    return await body(events);
  } finally {
    events.close();
  }
}

/** The job's first change after it was created, as /ws announces it (a worker taking it, mostly).
 *  Checks react to the event, not to a poll: a worker may hold a job for only a second or two. */
const nextChange = (events: EventLog, id: string, timeoutMs: number) =>
  events.waitFor(id, (e) => e.type !== 'job_created', timeoutMs);

/** A job's output, looked at from every side: the owner's container, everyone else's, and /view. */
async function checkOutput(ctx: CheckContext, owner: string, f: OutputFile): Promise<string[]> {
  const problems: string[] = [];
  const { users, host } = ctx.target;
  const others = users.filter((u) => u !== owner);
  const q = `filename=${encodeURIComponent(f.filename)}&subfolder=${encodeURIComponent(f.subfolder)}&type=output`;
  const own = await http(ctx, `/${owner}/view?${q}`, { raw: true, bodySnippet: 0, label: `${owner} fetches its image through /${owner}/view` });
  const png = own.raw?.subarray(0, 8).equals(PNG_SIGNATURE) ?? false;
  ctx.record(`${owner}'s image`, { status: own.status, bytes: own.raw?.length, pngSignature: png });
  if (own.status !== 200 || !png) problems.push(`/${owner}/view → HTTP ${own.status}${own.status === 200 ? ', not a PNG' : ''}`);
  const leaks: string[] = [];
  const unjudged: string[] = [];
  await each(others, async (u) => {
    const r = await ask(ctx.target, `/${u}/view?${q}`, { raw: true });
    if (r.status === 200 && r.raw?.subarray(0, 8).equals(PNG_SIGNATURE)) leaks.push(`/${u}/view serves it`);
    // A workspace that does not answer (5xx, a timeout) shows nothing either way.
    else if (![200, 400, 403, 404].includes(r.status)) unjudged.push(`/${u}/view → ${seen(r)}`);
  });
  ctx.record(`the other ${others.length} workspaces' /view`, { serving: leaks, couldNotLook: unjudged });
  problems.push(...leaks);
  if (unjudged.length) problems.push(unjudgedText('other workspaces\' /view', unjudged));
  if (!host) return problems; // no host access: the HTTP view is the evidence
  // Names from the deployment's answer go to commands as arguments, never through a shell.
  const dirs = await outputDirs(host, [owner, ...others]);
  const path = [dirs.get(owner) ?? '/nonexistent', f.subfolder, f.filename].filter(Boolean).join('/');
  const mine = await host.serviceExec(owner, ['od', '-An', '-tx1', '-N8', path]);
  ctx.record(`${owner}'s container: ${path}`, { exitCode: mine.exitCode, firstBytes: mine.stdout.trim() || mine.stderr.trim().slice(0, 120) });
  if (mine.exitCode !== 0) problems.push(`not in ${owner}'s ${dirs.get(owner) ?? 'output directory (none mounted)'}`);
  const seenIn: string[] = [];
  const notLooked: string[] = [];
  await each(others, async (u) => {
    const dir = dirs.get(u);
    if (!dir) return void notLooked.push(`${u}: no output directory mounted`);
    const r = await host.serviceExec(u, ['find', dir, '-name', f.filename]);
    const why = couldNotLook(r);
    if (why) return void notLooked.push(`${u}: ${why}`);
    const found = r.stdout.trim().split('\n')[0];
    if (found) seenIn.push(`${u}: ${found}`);
  });
  ctx.record(`the other ${others.length} users' containers`, { holdingTheImage: seenIn, couldNotLook: notLooked });
  if (seenIn.length) problems.push(`found in ${seenIn.join('; ')}`);
  if (notLooked.length) problems.push(unjudgedText('other users\' containers', notLooked));
  return problems;
}

export const jobsChecks = [
  defineCheck({
    id: 'jobs.lifecycle', suite: 'jobs', needs: ['write'], jobEvents: true, timeoutMs: TIMEOUT_MS,
    title: 'a user\'s job goes pending → running → completed, with its position and /ws events; its image is that user\'s alone',
    async run(ctx) {
      // The last user: user001/user002 are the ones other checks and faults single out.
      const user = ctx.target.users.at(-1)!;
      return withJobs(ctx, 'lifecycle', (jobs) => withEvents(ctx, async (events) => {
        const job = await jobs.submit({ user_id: user });
        if (job.position_in_queue === null && ['pending', 'running'].includes(job.status)) {
          // A worker polling at that moment can take the job between the queue-manager's write and its
          // rank lookup (two Redis calls, in the platform's FastAPI too): no position. Taken is fine;
          // still waiting without one is not.
          const now = await jobs.get(job.id);
          ctx.record('the 201 response had no position_in_queue; the job a moment later', now && { status: now.status, position: now.position_in_queue, worker: now.worker_id });
          ctx.expect(now?.status !== 'pending' || Number.isInteger(now.position_in_queue), 'a pending job reports its position_in_queue (0-based)', `${now?.status}: ${now?.position_in_queue}`);
        } else {
          ctx.expect(job.status === 'pending', 'a new job is pending', job.status);
          ctx.expect(Number.isInteger(job.position_in_queue) && job.position_in_queue! >= 0, 'a pending job reports its position_in_queue (0-based)', job.position_in_queue);
        }
        // Pending without a position at two polls in a row is a queue that does not say it. At one poll,
        // then taken, it is the same race as above (a worker popped it before the job was rewritten as
        // running); the polls are 150 ms apart, that window a few milliseconds.
        const unplaced = (j: Job) => j.status === 'pending' && j.position_in_queue === null;
        let prev: Job = job; // the 201's (judged above)
        const lasting: Job[] = [];
        const { job: last, seen } = await jobs.follow(job.id, (j) => {
          if (unplaced(j) && unplaced(prev)) lasting.push(j);
          prev = j;
          return FINISHED.includes(j.status);
        }, WAIT_MS);
        ctx.record('states seen (polled)', seen.map((j) => ({ status: j.status, position: j.position_in_queue, worker: j.worker_id })));
        ctx.expect(!!last, `job ${job.id} still exists`, 'GET → 404');
        ctx.expect(last!.status === 'completed', `the job completes within ${WAIT_MS / 1000} s`,
          last!.status === 'pending' ? 'still pending: no worker took it' : last!.status === 'running' ? `still running on ${last!.worker_id}: the worker never reported`
            : last!.status === 'failed' && /timeout/i.test(last!.error ?? '') ? `failed: ${last!.error} (${last!.worker_id ?? 'a worker'} took it and never reported within JOB_TIMEOUT)`
            : `${last!.status}${last!.error ? `: ${last!.error}` : ''}`);
        const bad = [...seen.filter((j) => j.status !== 'pending' && j.position_in_queue !== null), ...lasting.slice(0, 1)];
        ctx.expect(bad.length === 0, 'position_in_queue is a number while pending and null after', bad.map((j) => `${j.status}: ${j.position_in_queue}`));
        ctx.expect(!!last!.started_at && !!last!.completed_at && !!last!.worker_id, 'a completed job has started_at, completed_at and worker_id', last);
        // Events: created, running, completed (the last may trail the poll by a moment).
        await events.waitFor(job.id, (e) => e.data?.status === 'completed', 3_000);
        const seq = events.summary(job.id);
        ctx.record('/ws events for the job', seq);
        for (const want of ['job_created', 'job_updated:running', 'job_updated:completed']) {
          ctx.expect(seq.includes(want), `a ${want} event on /ws`, seq.join(', ') || 'no events');
        }
        const files = outputFiles(last!.result);
        ctx.record('result.outputs', files);
        ctx.expect(files.length > 0, 'the result names at least one output file (a plain name)', last!.result);
        try {
          const problems = await checkOutput(ctx, user, files[0]);
          ctx.expect(problems.length === 0, `${files[0].filename} is in ${user}'s outputs (a PNG, served by /${user}/view) and nowhere else`, problems.join('; '));
        } finally {
          await removeOutputs(ctx, files); // wherever they landed: the owner's outputs, or a wrong user's
        }
        return `${seq.join(' → ')}; image ${files[0].filename} in ${user}'s outputs only`;
      }));
    },
  }),

  defineCheck({
    id: 'jobs.failure', suite: 'jobs', needs: ['write'], jobEvents: true, timeoutMs: TIMEOUT_MS,
    title: 'a worker\'s failure report (fail-job) turns a running job `failed`, with its error',
    async run(ctx) {
      // The failure must be driven through the worker API, not by reconfiguring the worker (a real
      // deployment's cannot be). Taking a job with next-job is only safe when the job handed out is
      // certainly ours: next-job gives whatever is first in the queue, and a participant's job taken
      // by the probe would be lost. So: our job goes in at priority 0 for a user of our own, and
      // - a worker (the deployment's) takes it: we report its failure with fail-job at once, as that
      //   worker would (the queue-manager does not ask who reports: the same route and effect);
      // - no worker is active at all: we are the only one polling, so next-job hands out the head of
      //   the queue, which is ours (position 0); should another job come back anyway, it is put back.
      // A worker that completes our job before our report arrives proves nothing: we try again.
      const error = `comfy-verify: simulated GPU failure ${randomBytes(4).toString('hex')}`;
      return withJobs(ctx, 'failure', (jobs) => withEvents(ctx, async (events) => {
        for (let attempt = 1; attempt <= 3; attempt++) {
          const job = await jobs.submit({ user_id: probeUser('fail'), priority: 0 });
          let via = '';
          let change;
          for (const deadline = Date.now() + WAIT_MS; !via && !change && Date.now() < deadline;) {
            change = await nextChange(events, job.id, 3_000);
            if (change?.data.status === 'running') via = `on behalf of its worker ${change.data.worker_id}`;
            else if (!change) {
              // Nobody took it for 3 s: with no worker active at all, take it ourselves.
              const j = await jobs.get(job.id);
              if (j?.status === 'pending' && j.position_in_queue === 0 && (await jobs.queueStatus()).active_workers === 0) via = await claim(ctx, jobs, job.id);
            }
          }
          // The worker failing the job on its own exercises its failure, not fail-job through the API: again.
          if (change?.data.status === 'failed') { ctx.record(`attempt ${attempt}: the worker failed the job itself`, change.data.error); continue; }
          if (!via) {
            ctx.expect(!!change, `a worker takes the job within ${WAIT_MS / 1000} s`, 'no job_updated event for it');
            continue; // completed (or cancelled) before we could report: again
          }
          const r = await http(ctx, `/api/workers/fail-job?job_id=${job.id}`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ error }), label: `fail-job ${via}` });
          const answered = Date.now();
          ctx.expect(r.status === 200 && json(ctx, r).status === 'success', 'POST /api/workers/fail-job → 200 {status: "success"}', `HTTP ${r.status} ${r.body.slice(0, 120)}`);
          const after = await jobs.get(job.id);
          ctx.record('the job after fail-job', after && { status: after.status, error: after.error, completed_at: after.completed_at });
          if (after?.status === 'completed') {
            // Completed: either the worker's completion beat our report (a race: again), or the report
            // was recorded and announced, then overwritten by the worker's later completion (not this
            // check's business: again), or it was never recorded. Only the last is a finding. A busy
            // machine can delay our GET past the worker's completion, so "completed" alone is not it.
            const failed = await events.waitFor(job.id, (e) => e.data?.status === 'failed', 1_000);
            const completed = events.about(job.id).find((e) => e.data?.status === 'completed');
            if (failed || (completed && completed.at <= answered + 250)) {
              ctx.record('a race, not a finding', failed
                ? `the failure was announced on /ws, then the worker completed the job${completed ? ` ${completed.at - failed.at} ms later` : ''}`
                : `the worker's completion was announced ${answered - completed!.at} ms before fail-job was answered`);
              continue;
            }
            ctx.expect(false, 'the job is failed', `completed ${completed ? `${completed.at - answered} ms after fail-job was answered` : 'after fail-job was answered'}, and no failed event on /ws: the failure report was not recorded`);
          }
          ctx.expect(after?.status === 'failed', 'the job is failed', after?.status ?? 'gone');
          ctx.expect(after!.error === error, 'the job carries the reported error', after!.error);
          ctx.expect(!!after!.completed_at, 'a failed job has completed_at', after!.completed_at);
          const ev = await events.waitFor(job.id, (e) => e.data?.status === 'failed', 3_000);
          ctx.expect(!!ev && ev.data.error === error, 'a job_updated event with status failed and the error on /ws', events.summary(job.id));
          const again = await http(ctx, `/api/jobs/${job.id}`, { method: 'DELETE', label: 'cancel the failed job' });
          ctx.expect(again.status === 400, 'a failed job cannot be cancelled (400)', `HTTP ${again.status}`);
          return `failed with its error, reported ${via}${attempt > 1 ? ` (attempt ${attempt}: the worker completed earlier ones first)` : ''}`;
        }
        return ctx.skip('the deployment\'s worker finished (completed or failed) the probe job three times before a failure could be reported; fail-job was not exercised');
      }));
    },
  }),

  defineCheck({
    id: 'jobs.cancel', suite: 'jobs', needs: ['write'], jobEvents: true, timeoutMs: TIMEOUT_MS,
    title: 'cancel: a pending job is removed (404, job_deleted), a running one becomes `cancelled`',
    async run(ctx) {
      return withJobs(ctx, 'cancel', (jobs) => withEvents(ctx, async (events) => {
        // Pending: cancelled at once after submitting. A worker may take it in between; then again.
        let removed = false;
        for (let attempt = 1; attempt <= 3 && !removed; attempt++) {
          const job = await jobs.submit({ user_id: probeUser('cancel'), priority: 3, label: 'submit a low-priority job' });
          // What any participant can do to this job through the public URL: the queue API takes no credentials.
          if (attempt === 1) {
            const list = await http(ctx, '/api/jobs?limit=500', { label: 'another participant lists the jobs (no credentials)', bodySnippet: 0 });
            const listed = list.status === 200 && list.body.includes(job.id);
            const patch = await http(ctx, `/api/jobs/${job.id}/priority?priority=3`, { method: 'PATCH', label: 'another participant changes its priority (no credentials)' });
            const done = [...(listed ? ['list (GET /api/jobs)'] : []), ...(patch.status === 200 ? ['re-prioritise (PATCH)'] : []), 'cancel (DELETE)'];
            ctx.warn(`the queue API takes no credentials: through the public URL anyone could ${done.join(', ')} another participant's job; the platform relies on participants not doing so`);
          }
          const del = await http(ctx, `/api/jobs/${job.id}`, { method: 'DELETE', label: 'cancel it while pending' });
          const after = await jobs.get(job.id);
          // A slow API: the worker took it and finished it before the DELETE arrived (400 is the contract's
          // answer for a finished job). A race, not a refusal: then again.
          if (del.status === 400 && after && ['completed', 'failed'].includes(after.status)) { ctx.record(`attempt ${attempt}`, `the job was ${after.status} before the DELETE arrived (HTTP 400)`); continue; }
          ctx.expect(del.status === 204, 'DELETE /api/jobs/{id} → 204', `HTTP ${del.status}`);
          if (after?.status === 'cancelled' && after.started_at) continue; // a worker had it already
          ctx.expect(after === null, 'a cancelled pending job is removed (GET → 404)', after && `HTTP 200, status ${after.status}`);
          const ev = await events.waitFor(job.id, (e) => e.type === 'job_deleted', 3_000);
          ctx.expect(!!ev, 'a job_deleted event on /ws', events.summary(job.id));
          removed = true;
        }
        ctx.expect(removed, 'a pending job could be cancelled', 'a worker took the job before the cancel three times');
        // Running: cancelled as soon as /ws says a worker took it.
        for (let attempt = 1; attempt <= 3; attempt++) {
          const job = await jobs.submit({ user_id: probeUser('cancel'), priority: 0, label: 'submit a job to cancel while running' });
          const change = await nextChange(events, job.id, WAIT_MS);
          ctx.expect(!!change, `a worker takes the job within ${WAIT_MS / 1000} s`, 'no job_updated event for it');
          if (change!.data.status !== 'running') continue; // finished before we could cancel it
          const del = await http(ctx, `/api/jobs/${job.id}`, { method: 'DELETE', label: 'cancel it while running' });
          const after = await jobs.get(job.id);
          ctx.record('the running job after DELETE', after && { status: after.status, completed_at: after.completed_at });
          if (del.status === 400 && after && ['completed', 'failed'].includes(after.status)) continue; // it finished first: a race
          ctx.expect(del.status === 204, 'DELETE /api/jobs/{id} → 204 for a running job', `HTTP ${del.status} ${del.body.slice(0, 100)} (the job is ${after?.status ?? 'gone'})`);
          ctx.expect(after?.status === 'cancelled', 'a cancelled running job is marked cancelled', after?.status ?? 'gone (404)');
          const ev = await events.waitFor(job.id, (e) => e.data?.status === 'cancelled', 3_000);
          ctx.expect(!!ev, 'a job_updated event with status cancelled on /ws', events.summary(job.id));
          const again = await http(ctx, `/api/jobs/${job.id}`, { method: 'DELETE', label: 'cancel it again' });
          ctx.expect(again.status === 400, 'a cancelled job cannot be cancelled again (400)', `HTTP ${again.status}`);
          return `pending → removed; running → cancelled${attempt > 1 ? ` (attempt ${attempt})` : ''}`;
        }
        return ctx.skip('the deployment\'s worker finished the probe job three times before it could be cancelled while running');
      }));
    },
  }),

  defineCheck({
    id: 'jobs.priority', suite: 'jobs', needs: ['write'], jobEvents: true, timeoutMs: TIMEOUT_MS,
    title: 'an instructor job (priority 0) overtakes normal ones already waiting',
    async run(ctx) {
      return withJobs(ctx, 'priority', async (jobs) => {
        // Each job for a user of its own with no history, so round_robin ranks them all alike and
        // only the priority tells them apart. A burst of more normal jobs than there are workers, and
        // workers poll now and then, so some are still waiting when the instructor
        // job arrives: the check makes its own precondition instead of hoping for it.
        const { total_workers: workers = 1 } = await jobs.queueStatus();
        const burst = Math.max(1, workers) + 3;
        for (let attempt = 1; attempt <= 3; attempt++) {
          const normal = await Promise.all(Array.from({ length: burst }, () => jobs.submit({ user_id: probeUser('normal'), priority: 2 })));
          const instructor = await jobs.submit({ user_id: probeUser('instructor'), priority: 0, label: 'submit an instructor job (priority 0)' });
          const now = await Promise.all([instructor, ...normal].map((j) => jobs.get(j.id)));
          const [p0, ...ns] = now;
          const waiting = ns.filter((n): n is Job => n?.status === 'pending');
          ctx.record(`positions just after the instructor job (attempt ${attempt})`, now.map((j) => j && { priority: j.priority, status: j.status, position: j.position_in_queue }));
          if (!waiting.length) { await jobs.cleanup(); continue; } // every one taken at once: nothing to overtake
          if (p0?.status === 'pending') {
            const behind = waiting.filter((n) => n.position_in_queue! < p0.position_in_queue!);
            ctx.expect(behind.length === 0, 'the instructor job is ahead of every waiting normal job', behind.map((n) => `a normal job at position ${n.position_in_queue}, the instructor job at ${p0.position_in_queue}`));
          }
          // Served first: when the instructor job starts, the normal jobs that were waiting have not.
          const { job: started0 } = await jobs.follow(instructor.id, started, WAIT_MS, 100);
          ctx.expect(!!started0 && started0.status !== 'pending', 'a worker takes the instructor job', started0 ? 'still pending' : 'gone');
          const later = await Promise.all(waiting.map((n) => jobs.get(n.id)));
          // Without start times the order cannot be read: a job taken but not saying when is no evidence.
          const undated = [started0!, ...later].filter((n) => n && n.status !== 'pending' && !n.started_at);
          ctx.expect(undated.length === 0, 'every job a worker took has its started_at', undated.map((n) => `${n!.id.slice(0, 8)} ${n!.status} with started_at ${n!.started_at}`));
          const before = later.filter((n) => n?.started_at && n.started_at < started0!.started_at!);
          ctx.record('normal jobs when the instructor job started', later.map((n) => n && { status: n.status, started_at: n.started_at }), { instructorStarted: started0!.started_at });
          ctx.expect(before.length === 0, 'no normal job that was waiting started before the instructor job', before.map((n) => `started ${n!.started_at}`));
          return `the instructor job went ahead of ${waiting.length} waiting normal jobs`;
        }
        return ctx.skip(`no normal job was still waiting when the instructor job arrived, three times (bursts of ${burst} for ${workers} workers): the overtaking could not be observed`);
      });
    },
  }),

  defineCheck({
    id: 'jobs.queue-order', suite: 'jobs', needs: ['write'], jobEvents: true, timeoutMs: TIMEOUT_MS,
    title: 'equal-priority jobs are served in the order QUEUE_MODE promises (fifo: oldest first; round_robin: fewest completed first)',
    async run(ctx) {
      return withJobs(ctx, 'queue-order', async (jobs) => {
        const status = await jobs.queueStatus();
        const declared = ctx.target.queue.mode;
        ctx.record('queue mode', { reported: status.mode, declared: declared ?? 'unknown' });
        ctx.expect(['fifo', 'round_robin', 'priority'].includes(status.mode), 'the queue reports a mode of fifo, round_robin or priority', status.mode);
        if (declared) ctx.expect(status.mode === declared, `the queue runs the configured QUEUE_MODE ${declared}`, status.mode);
        const rr = status.mode === 'round_robin';
        // A has one completed job (round_robin only: fifo ignores history); then A2 (older) and B1
        // (newer, from B with none) wait together. fifo serves A2 first; round_robin serves B1.
        const a = probeUser('a');
        if (rr) {
          const a1 = await jobs.submit({ user_id: a, label: 'A\'s first job, to give A a completed job' });
          const { job } = await jobs.follow(a1.id, (j) => FINISHED.includes(j.status), WAIT_MS);
          ctx.expect(job?.status === 'completed', 'A\'s first job completes (round_robin counts completed jobs)', job?.status ?? 'gone');
        }
        for (let attempt = 1; attempt <= 3; attempt++) {
          const a2 = await jobs.submit({ user_id: a, label: 'A\'s job (older)' });
          const b1 = await jobs.submit({ user_id: probeUser('b'), label: 'B\'s job (newer)' });
          if ((await jobs.get(a2.id))?.status !== 'pending') continue; // taken before B's arrived: not waiting together
          const t = (j: Job | null) => (j?.started_at ? Date.parse(j.started_at) : Infinity);
          let [ja, jb]: (Job | null)[] = [null, null];
          for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline; await sleep(100)) {
            [ja, jb] = await Promise.all([jobs.get(a2.id), jobs.get(b1.id)]);
            if (started(ja) || started(jb)) break;
          }
          ctx.record('which started first', { older: ja && { status: ja.status, started_at: ja.started_at }, newer: jb && { status: jb.status, started_at: jb.started_at } });
          ctx.expect(t(ja) !== Infinity || t(jb) !== Infinity, 'a worker takes one of the two', 'both still waiting');
          const first = t(ja) <= t(jb) ? 'older' : 'newer';
          const want = rr ? 'newer' : 'older';
          ctx.expect(first === want, rr ? 'round_robin: the job of the user with fewer completed jobs is served first' : `${status.mode}: the older job is served first`, `the ${first} job started first`);
          return `${status.mode}: the ${want} job was served first`;
        }
        return ctx.fail('a worker took the older job before the newer one arrived, three times: the two never waited together');
      });
    },
  }),

  defineCheck({
    id: 'jobs.queue-full', suite: 'jobs', needs: ['write'], jobEvents: true, exclusive: true, timeoutMs: TIMEOUT_MS,
    title: 'a full queue (pending = MAX_QUEUE_DEPTH) answers 429 "Queue is full", and stores nothing',
    async run(ctx) {
      const depth = ctx.target.queue.maxQueueDepth;
      if (depth === undefined) return ctx.skip('MAX_QUEUE_DEPTH is not known for this deployment (give it as in the platform\'s .env)');
      if (depth === 0) return ctx.skip('MAX_QUEUE_DEPTH is 0: the queue is unlimited');
      // Runs alone (exclusive): while the queue is full every participant's submit fails, so it is
      // full only for a moment, with low-priority jobs (3) of our own, all removed at once.
      return withJobs(ctx, 'queue-full', async (jobs) => {
        const before = await jobs.queueStatus();
        ctx.record('queue before', { pending: before.pending_jobs, maxQueueDepth: depth });
        // Each submission for a user of its own, so what a refused one left behind can be looked up.
        const base = probeUser('fill');
        const refused: { user: string; status: number; body: string }[] = [];
        let n = 0;
        const submitOne = async () => {
          const user = `${base}-${n++}`;
          const r = await ctx.target.request('/api/jobs', {
            method: 'POST', headers: JSON_HEADERS,
            body: JSON.stringify({ user_id: user, workflow: probeWorkflow('comfy-verify-fill'), priority: 3, metadata: tagMetadata('jobs.queue-full') }),
          });
          if (r.status === 201) jobs.created.add(JSON.parse(r.body).id);
          else refused.push({ user, status: r.status, body: r.body.slice(0, 200) });
        };
        // Bounded: at most depth + 10 submissions (a worker may take a few meanwhile).
        while (!refused.length && n < depth + 10) {
          await Promise.all(Array.from({ length: Math.max(1, Math.min(20, depth - before.pending_jobs - jobs.created.size + 1)) }, submitOne));
        }
        const at = await jobs.queueStatus();
        const full = refused[0];
        ctx.record('the refused submission', full, { accepted: jobs.created.size });
        ctx.record('queue when refused', { pending: at.pending_jobs });
        ctx.expect(!!full, `a submission is refused once ${depth} jobs are pending`, `${jobs.created.size} more accepted (pending ${at.pending_jobs})`);
        ctx.expect(full.status === 429, 'the refusal is HTTP 429', `HTTP ${full.status} ${full.body.slice(0, 120)}`);
        const detail = (JSON.parse(full.body) as { detail?: unknown }).detail;
        ctx.expect(typeof detail === 'string' && detail.includes(`max depth: ${depth}`), `detail "Queue is full (max depth: ${depth})"`, detail);
        // Refused only when full: a worker may have taken a few since, hence the small allowance.
        ctx.expect(at.pending_jobs >= depth - 3, `the queue was full (about ${depth} pending) when it refused`, `${at.pending_jobs} pending`);
        const stored = await http(ctx, `/api/jobs?user_id=${full.user}`, { label: 'what was stored for the refused submission' });
        ctx.expect(stored.status === 200 && stored.body.trim() === '[]', 'the refused job is not stored', `GET → HTTP ${stored.status} ${stored.body.slice(0, 80)}`);
        return `429 "${detail}" at ${at.pending_jobs} pending`;
      });
    },
  }),

  defineCheck({
    id: 'jobs.invalid', suite: 'jobs', needs: ['write'], jobEvents: true,
    title: 'invalid submissions are rejected with 422 (a detail list) and nothing is stored',
    async run(ctx) {
      const user = probeUser('invalid');
      const ok = { user_id: user, workflow: probeWorkflow('comfy-verify-invalid'), metadata: tagMetadata('jobs.invalid') };
      const cases: [string, string][] = [
        ['no workflow', JSON.stringify({ ...ok, workflow: undefined })],
        ['workflow {}', JSON.stringify({ ...ok, workflow: {} })],
        ['workflow a list', JSON.stringify({ ...ok, workflow: [ok.workflow] })],
        ['workflow a string', JSON.stringify({ ...ok, workflow: 'SaveImage' })],
        ['priority 4', JSON.stringify({ ...ok, priority: 4 })],
        ['priority -1', JSON.stringify({ ...ok, priority: -1 })],
        ['priority "high"', JSON.stringify({ ...ok, priority: 'high' })],
        ['priority 1.5', JSON.stringify({ ...ok, priority: 1.5 })],
        ['metadata a string', JSON.stringify({ ...ok, metadata: 'x' })],
        ['no user_id', JSON.stringify({ ...ok, user_id: undefined })],
        ['not JSON', '{"user_id": '],
        ['a JSON list', JSON.stringify([ok])],
      ];
      const wrong: string[] = [];
      const stray: string[] = [];
      for (const [what, body] of cases) {
        const r = await http(ctx, '/api/jobs', { method: 'POST', headers: JSON_HEADERS, body, label: what, bodySnippet: 120 });
        const detail = (() => { try { return JSON.parse(r.body).detail; } catch { return undefined; } })();
        if (r.status !== 422 || !Array.isArray(detail)) wrong.push(`${what} → HTTP ${r.status}${r.status === 422 ? ' without a detail list' : ''}`);
        const id = r.status === 201 ? (JSON.parse(r.body) as Job).id : undefined;
        if (id) { stray.push(id); await ctx.target.request(`/api/jobs/${id}`, { method: 'DELETE' }); } // what should not exist
      }
      const stored = await http(ctx, `/api/jobs?user_id=${user}`, { label: `jobs stored for ${user}` });
      ctx.expect(wrong.length === 0, 'every invalid submission → 422 with a detail list', wrong.join('; '));
      ctx.expect(stored.status === 200 && stored.body.trim() === '[]', 'nothing was stored', stored.body.slice(0, 120));
      return `${cases.length} invalid submissions refused`;
    },
  }),
];

/** No worker is active: take the head of the queue (ours) as the probe worker. */
async function claim(ctx: CheckContext, jobs: Jobs, id: string): Promise<string> {
  const r = await http(ctx, `/api/workers/next-job?worker_id=${PROBE_WORKER}`, { label: 'no worker active: next-job as the probe' });
  ctx.expect(r.status === 200, 'GET /api/workers/next-job → 200', `HTTP ${r.status}`);
  const got = json<{ job: { id: string; user_id: string; workflow: unknown; metadata?: unknown } | null }>(ctx, r).job;
  if (!got || got.id === id) return got ? `as the worker ${PROBE_WORKER} (no other worker was active)` : '';
  // Not ours after all (a worker appeared and took ours): put the job we were handed back in the
  // queue as it was, and cancel the copy we hold, so its owner loses nothing but its job id.
  const j = await jobs.get(got.id);
  await ctx.target.request('/api/jobs', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ user_id: got.user_id, workflow: got.workflow, priority: j?.priority ?? 2, metadata: got.metadata ?? {} }) });
  await ctx.target.request(`/api/jobs/${got.id}`, { method: 'DELETE' });
  ctx.warn(`next-job handed the probe another job (${got.id} of ${got.user_id}); it was queued again`);
  return '';
}
