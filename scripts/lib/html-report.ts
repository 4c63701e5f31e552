// reports/index.html: one self-contained page for the operator (no external assets, images as
// data URIs, prints well). Verdict first, then each suite with its failures first, then what other
// runs left beside it: the fault matrix, browser screenshots, the load summary. Every text is
// redacted BEFORE it is escaped: escaping could otherwise hide a password containing & < " from redact().
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckResult, EvidenceItem, Status } from '../../suites/lib/check.ts';
import { onStandIns, outOfScope, standInNote, type ModeResult, type VerifyReport } from './report.ts';
import type { FaultRecord } from '../../suites/lib/fault-runner.ts';
import { redact } from '../../stack/secrets.ts';

export interface FaultsFile {
  faults: FaultRecord[];
  caught: number;
  total: number;
  falseAlarms: (CheckResult & { mode?: string })[];
  durationMs?: number;
}

/** What other commands left in the reports dir; each part is optional (absent = section says so or is left out). */
export interface ReportExtras {
  faults?: { report: FaultsFile; writtenAt?: Date };
  screenshots?: { name: string; dataUri?: string; bytes: number }[];
  load?: { summary: unknown; hasPage: boolean; writtenAt?: Date };
}

const MAX_IMAGE_BYTES = 4 * 1024 * 1024; // larger screenshots are linked, not embedded: the page must stay openable

/** Reads faults.json, screenshots/*.png and load/summary.json if present; a broken file is skipped, never fatal. */
export function readExtras(dir: string): ReportExtras {
  const x: ReportExtras = {};
  const json = (p: string) => { try { return JSON.parse(readFileSync(p, 'utf8')); } catch { return undefined; } };
  const fp = join(dir, 'faults.json');
  const faults = existsSync(fp) ? json(fp) : undefined;
  if (faults && Array.isArray(faults.faults)) x.faults = { report: faults, writtenAt: statSync(fp).mtime };
  const sd = join(dir, 'screenshots');
  if (existsSync(sd)) {
    const names = readdirSync(sd).filter((n) => n.toLowerCase().endsWith('.png')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    x.screenshots = names.map((name) => {
      const bytes = statSync(join(sd, name)).size;
      return { name, bytes, dataUri: bytes <= MAX_IMAGE_BYTES ? `data:image/png;base64,${readFileSync(join(sd, name)).toString('base64')}` : undefined };
    });
  }
  const lp = join(dir, 'load', 'summary.json');
  const load = existsSync(lp) ? json(lp) : undefined;
  if (load && typeof load === 'object') x.load = { summary: load, hasPage: existsSync(join(dir, 'load', 'index.html')), writtenAt: statSync(lp).mtime };
  return x;
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Redact, then escape: the only way text enters the page. */
export const esc = (v: unknown) => redact(String(v)).replace(/[&<>"']/g, (c) => ESC[c]);

const WORD: Record<Status, string> = { fail: 'Failed', warn: 'Warning', skip: 'Skipped', pass: 'Passed' };
const ORDER: Status[] = ['fail', 'warn', 'skip', 'pass'];
/** What each suite establishes, in the operator's words (the README's table). */
const SUITE_INFO: Record<string, [title: string, what: string]> = {
  health: ['Health', 'nginx, the queue-manager (with Redis), the admin and every user workspace answer.'],
  routing: ['Routing', 'Every public URL reaches the right service: https redirects, /api, /admin behind a password, each /userNNN/ to that user only, CORS, large workflows.'],
  websocket: ['WebSockets', 'Live connections upgrade, echo, carry job events and stay open while idle.'],
  tls: ['TLS (certificate and HTTPS)', 'The certificate is valid, covers the domain and is not near expiry; only TLS 1.2/1.3; security headers on every response.'],
  exposure: ['Port exposure', 'From the internet only 80 and 443 (and 22) are open; internal services listen on loopback or the VPN only.'],
  redis: ['Redis', 'Redis answers on the VPN address with its password, refuses commands without it, and is closed to the internet.'],
  isolation: ['User isolation', 'One participant cannot see or fetch another participant\'s files.'],
  access: ['Participant access', 'Each workspace opens with its own participant\'s password, and no other.'],
  jobs: ['Jobs', 'A job goes through the queue to a worker and back.'],
  browser: ['Browser', 'The pages work in a real browser.'],
  resilience: ['Resilience', 'What an operator fears mid-session: a restarted container is found again by nginx at its new address; Redis restarting loses no waiting job, and the queue-manager says so and recovers on its own.'],
};
const suiteTitle = (s: string) => SUITE_INFO[s]?.[0] ?? s.charAt(0).toUpperCase() + s.slice(1);

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
const when = (d: Date | string) => new Date(d).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
const modeWord = (m: string) => (m === 'host' || m === 'container' ? `${m}-nginx` : m);
const anchor = (c: { mode: string; id: string }) => `c-${c.mode}-${c.id}`.replace(/[^A-Za-z0-9_-]/g, '-');
const badge = (s: Status) => `<span class="badge ${s}">${WORD[s]}</span>`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Strings as they are (a command, a log line); anything else as indented JSON. */
function pretty(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v, null, 2) ?? String(v);
  return s.length > 50_000 ? `${s.slice(0, 50_000)}\n… (${s.length - 50_000} more characters in verify.json)` : s;
}

function evidenceHtml(ev: EvidenceItem[], open: boolean): string {
  if (!ev.length) return '<p class="none">No evidence recorded.</p>';
  const items = ev.map((e) => `<div class="ev"><div class="ev-label">${esc(e.label)}</div>${
    e.sent !== undefined ? `<div class="ev-part"><span>Sent</span><pre>${esc(pretty(e.sent))}</pre></div>` : ''}${
    e.seen !== undefined ? `<div class="ev-part"><span>Seen</span><pre>${esc(pretty(e.seen))}</pre></div>` : ''}</div>`);
  return `<details${open ? ' open' : ''}><summary>Evidence (${plural(ev.length, 'item')})</summary>${items.join('')}</details>`;
}

function checkHtml(c: ModeResult, multiMode: boolean): string {
  return `<div class="check ${c.status}" id="${anchor(c)}">
<div class="check-head">${badge(c.status)} <span class="title">${esc(c.title)}</span></div>
<div class="meta"><code>${esc(c.id)}</code>${multiMode ? ` · ${esc(modeWord(c.mode))} mode` : ''} · ${duration(c.durationMs)}${c.blockedBy ? ` · <b>blocked by ${esc(c.blockedBy.service)}</b>` : ''}${c.rerun ? ` · rerun ${esc(c.rerun)}` : ''}</div>
<p class="msg">${esc(c.message)}</p>
${c.standIn ? `<p class="standin"><span class="badge skip">stand-in</span> ${esc(standInNote(c))}</p>` : ''}
${evidenceHtml(c.evidence ?? [], c.status === 'fail')}
</div>`;
}

function countsLine(cs: { status: Status }[]): string {
  return ORDER.map((s) => [s, cs.filter((c) => c.status === s).length] as const).filter(([, n]) => n)
    .map(([s, n]) => `<span class="count ${s}">${n} ${WORD[s].toLowerCase()}</span>`).join(' ');
}

function suitesHtml(r: VerifyReport): string {
  const suites = [...new Set([...Object.keys(SUITE_INFO), ...r.checks.map((c) => c.suite)])].filter((s) => r.checks.some((c) => c.suite === s));
  const multiMode = new Set(r.checks.map((c) => c.mode)).size > 1;
  return suites.map((s) => {
    const cs = r.checks.filter((c) => c.suite === s);
    const sorted = ORDER.flatMap((st) => cs.filter((c) => c.status === st)); // failures first; stable within a status
    return `<section class="suite" id="suite-${esc(s)}"><h2>${esc(suiteTitle(s))} <small>${countsLine(cs)}</small></h2>
${SUITE_INFO[s] ? `<p class="what">${esc(SUITE_INFO[s][1])}</p>` : ''}
${sorted.map((c) => checkHtml(c, multiMode)).join('\n')}</section>`;
  }).join('\n');
}

function verdictHtml(r: VerifyReport): string {
  const c = r.counts;
  const go = r.verdict === 'GO';
  const line = !go ? `${plural(c.fail, 'check')} failed on ${esc(r.target)}. Do not run the workshop until they pass.`
    : r.partial ? `No check failed, but ${r.partial.notRun} of ${r.partial.of} checks were not run: ${esc(r.target)} meets the contract only in what was checked.`
    : `${esc(r.target)} meets the contract: no check failed.`;
  const attention = r.checks.filter((x) => x.status === 'fail' || x.status === 'warn')
    .sort((a, b) => ORDER.indexOf(a.status) - ORDER.indexOf(b.status));
  return `<section class="verdict ${go ? (r.partial ? 'go partial' : 'go') : 'nogo'}">
<div class="big">${go ? 'GO' : 'NO-GO'}${go && r.partial ? '<small>partial</small>' : ''}</div>
<div class="facts"><p class="line">${line}</p>
${go && r.partial ? `<ul class="notrun">${r.partial.reasons.map((x) => `<li>not run: ${esc(x)}</li>`).join('')}</ul>` : ''}
<table class="kv">
<tr><th>Target</th><td>${esc(r.target)}</td></tr>
<tr><th>Modes</th><td>${r.modes.map((m) => esc(modeWord(m))).join(', ') || '–'}</td></tr>
<tr><th>Checks</th><td>${c.pass} passed, ${plural(c.warn, 'warning')}, ${c.fail} failed, ${c.skip} skipped${outOfScope(r) ? ` (${outOfScope(r)} not part of this run or deployment)` : ''} (${r.checks.length} in all)${onStandIns(r).length ? `; ${onStandIns(r).length} of the passes and warnings on stand-in evidence (${onStandIns(r).map((x) => `<a href="#${anchor(x)}">${esc(x.id)}</a>`).join(', ')}): they prove the checks' reading, not the real thing` : ''}</td></tr>
<tr><th>Duration</th><td>${duration(r.durationMs)}</td></tr>
<tr><th>Run at</th><td>${esc(when(r.generatedAt))}</td></tr>
</table></div></section>
${(r.rootCauses ?? []).length ? `<section class="attention rootcauses"><h2>Root cause${r.rootCauses!.length > 1 ? 's' : ''}</h2><ul>${r.rootCauses!.map((x) =>
    `<li><b>${esc(x.service)}</b> ${x.never ? 'did not start' : `stopped answering at ${esc(x.since.slice(11, 19))}`}${r.modes.length > 1 ? ` <span class="dim">(${esc(modeWord(x.mode))})</span>` : ''}${x.after[0] ? `, after <code>${esc(x.after[0])}</code>` : ''}${x.until ? `; it answered again at ${esc(x.until.slice(11, 19))}` : ''}.<br><span class="dim">${esc(x.probe)}.${x.detail?.length ? `</span><pre>${esc(x.detail.join('\n'))}</pre><span class="dim">` : ''} Blocked: ${x.blocked.length ? x.blocked.map((id) => `<code>${esc(id)}</code>`).join(', ') : 'no check'}.</span></li>`).join('')}</ul></section>` : ''}
${r.deployment ? deploymentHtml(r.deployment, r.modes.length > 1) : ''}
${attention.length ? `<section class="attention"><h2>Needs attention</h2><ul>${attention.map((x) =>
    `<li>${badge(x.status)} <a href="#${anchor(x)}">${esc(x.title)}</a> <span class="dim">(${esc(suiteTitle(x.suite))}${r.modes.length > 1 ? `, ${esc(modeWord(x.mode))}` : ''})</span><br><span class="dim">${esc(x.message)}</span></li>`).join('')}</ul></section>` : ''}`;
}

/** verify --compose: the project as run, every change from the operator's files with its reason. */
function deploymentHtml(d: NonNullable<VerifyReport['deployment']>, modes: boolean): string {
  return `<section class="deployment"><h2>Your compose project, as run here</h2><p>${esc(d.source)}: used as written, but for these changes.</p>
<table class="kv">${d.changes.map((c) => `<tr><th>${esc(c.what)}${modes ? ` <span class="dim">(${esc(modeWord(c.mode))})</span>` : ''}</th><td>${esc(c.why)}</td></tr>`).join('')}</table>
${d.startup?.length ? `<p>Start-up:</p><ul>${d.startup.map((x) => `<li>${x.kind === 'late' ? '⚠ ' : 'harness, not your project: '}${esc(x.text)}${modes ? ` <span class="dim">(${esc(modeWord(x.mode))})</span>` : ''}</li>`).join('')}</ul>` : ''}
${d.warnings.length ? `<p>docker compose warned:</p><ul>${[...new Set(d.warnings.map((w) => w.text))].map((w) => `<li><code>${esc(w)}</code></li>`).join('')}</ul>` : ''}</section>`;
}

function faultsHtml(f: NonNullable<ReportExtras['faults']>): string {
  const rep = f.report;
  const rows = [...rep.faults].sort((a, b) => Number(a.caught) - Number(b.caught)).map((x) => `<tr class="${x.caught ? 'caught' : 'missed'}">
<td><b>${esc(x.id)}</b>${x.standIn ? ' <span class="badge skip" title="works through a switch only the stand-in services have">stand-in switch</span>' : ''}<br><span class="dim">${esc(x.description)}</span>${x.standIn ? `<br><span class="dim">On the real platform: ${esc(x.standIn)}</span>` : ''}</td>
<td class="nowrap">${esc(modeWord(x.mode))}</td>
<td><ul class="plain">${x.expected.map((id) => x.failed.includes(id)
    ? `<li><span class="mark ok" title="turned red">✔</span> ${esc(id)}</li>`
    : `<li><span class="mark bad" title="stayed green">✖</span> ${esc(id)} <b class="bad">stayed green</b></li>`).join('')}</ul></td>
<td>${x.caught ? '<span class="badge pass">Caught</span>' : '<span class="badge fail">Missed</span>'}</td>
<td>${x.unrelated.length ? x.unrelated.map(esc).join('<br>') : '<span class="dim">none</span>'}</td></tr>`);
  const fa = rep.falseAlarms ?? [];
  return `<section class="faults" id="faults"><h2>Fault matrix <small>${rep.caught} of ${rep.total} faults caught, ${plural(fa.length, 'false alarm')}</small></h2>
<p class="what">Each fault is a deliberate mistake injected into the stand-in stack; the checks listed must turn red
(<span class="mark ok">✔</span> it did, <span class="mark bad">✖</span> it stayed green). A missed fault means a check that cannot fail.
Most faults are mistakes made in configuration (environment, mounts, ports, nginx); those marked <i>stand-in switch</i> flip a
switch only our stand-in services have, to stand for the behaviour named under them.
"Also failed" lists checks the fault turned red without being expected to. From <code>faults.json</code>, written ${f.writtenAt ? esc(when(f.writtenAt)) : 'earlier'} (a separate run).</p>
${fa.length ? `<p class="alarm">False alarms (failed on the clean stack): ${fa.map((a) => `<b>${esc(a.id)}</b>${a.mode ? ` (${esc(modeWord(a.mode))})` : ''}: ${esc(a.message)}`).join('; ')}</p>` : ''}
<table class="matrix"><thead><tr><th>Fault</th><th>Mode</th><th>Checks that must turn red</th><th>Result</th><th>Also failed</th></tr></thead>
<tbody>${rows.join('')}</tbody></table></section>`;
}

function screenshotsHtml(all: NonNullable<ReportExtras['screenshots']>): string {
  // The browser suite's own contact-sheet.png is a composite of the same pictures: the grid below replaces it.
  const shots = all.filter((s) => s.name !== 'contact-sheet.png');
  if (!shots.length) return '';
  const fig = (s: (typeof shots)[number]) => `<figure>${s.dataUri
    ? `<img src="${s.dataUri}" alt="${esc(s.name)}">`
    : `<a href="screenshots/${encodeURIComponent(s.name)}">${esc(s.name)} (${Math.round(s.bytes / 1024 / 1024)} MB, not embedded)</a>`}<figcaption>${esc(s.name.replace(/\.png$/i, ''))}</figcaption></figure>`;
  const workspaces = shots.filter((s) => /^user\d+\.png$/i.test(s.name));
  const others = shots.filter((s) => !workspaces.includes(s));
  return `<section class="shots" id="screenshots"><h2>Browser screenshots <small>${plural(shots.length, 'picture')}</small></h2>
<p class="what">What a participant's browser showed (from <code>screenshots/</code>)${workspaces.length ? ': every workspace, then the other pages' : ''}.</p>
${workspaces.length ? `<div class="sheet">${workspaces.map(fig).join('')}</div>` : ''}
${others.length ? `${workspaces.length ? '<h3>Other pages</h3>' : ''}<div class="sheet wide">${others.map(fig).join('')}</div>` : ''}</section>`;
}

interface Threshold { name: string; ok: boolean; detail?: string }
/** The load summary's shape belongs to the load command; this reads the common ones (its own, and k6's). */
export function loadView(s: Record<string, unknown>): { verdict?: string; reasons: string[]; thresholds: Threshold[]; facts: [string, string][] } {
  const ok = (v: unknown): boolean | undefined => typeof v === 'boolean' ? v
    : v && typeof v === 'object' ? (['ok', 'pass', 'passed'].map((k) => (v as Record<string, unknown>)[k]).find((b) => typeof b === 'boolean') as boolean | undefined) : undefined;
  const detail = (v: unknown) => v && typeof v === 'object'
    ? ['value', 'observed', 'actual', 'limit', 'threshold'].filter((k) => ![undefined, ''].includes((v as Record<string, unknown>)[k] as string)).map((k) => `${k === 'value' ? '' : `${k} `}${fmtVal((v as Record<string, unknown>)[k])}`).join(', ') || undefined : undefined;
  const th: Threshold[] = [];
  const t = s.thresholds;
  if (Array.isArray(t)) for (const x of t) {
    const o = x as Record<string, unknown>;
    const b = ok(o);
    if (b !== undefined) th.push({ name: String(o.name ?? o.metric ?? o.id ?? o.threshold ?? '?'), ok: b, detail: detail(o) });
  } else if (t && typeof t === 'object') for (const [k, v] of Object.entries(t)) {
    const b = ok(v);
    if (b !== undefined) th.push({ name: k, ok: b, detail: detail(v) });
  }
  // k6's handleSummary data: metrics.<name>.thresholds.<expr>.ok
  if (s.metrics && typeof s.metrics === 'object') for (const [m, v] of Object.entries(s.metrics as Record<string, { thresholds?: Record<string, unknown> }>)) {
    for (const [expr, r] of Object.entries(v?.thresholds ?? {})) { const b = ok(r); if (b !== undefined) th.push({ name: `${m} ${expr}`, ok: b }); }
  }
  const v = s.verdict ?? s.status ?? (typeof s.pass === 'boolean' ? (s.pass ? 'PASS' : 'FAIL') : typeof s.ok === 'boolean' ? (s.ok ? 'PASS' : 'FAIL') : undefined);
  const verdict = v !== undefined ? String(v) : th.length ? (th.every((x) => x.ok) ? 'PASS' : 'FAIL') : undefined;
  const facts = Object.entries(s).filter(([k, x]) => !['verdict', 'status', 'pass', 'ok'].includes(k) && (typeof x === 'number' || typeof x === 'string')).slice(0, 12)
    .map(([k, x]) => [k.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase(), fmtVal(x)] as [string, string]); // jobsCompleted -> jobs completed
  const reasons = Array.isArray(s.reasons) ? s.reasons.map(String) : [];
  return { verdict, reasons, thresholds: th, facts };
}
const fmtVal = (v: unknown) => (typeof v === 'number' ? String(Math.round(v * 100) / 100) : typeof v === 'string' ? v : JSON.stringify(v));

function loadHtml(l: NonNullable<ReportExtras['load']>): string {
  const v = loadView((l.summary ?? {}) as Record<string, unknown>);
  const good = v.verdict ? /^(pass|passed|ok|go|green|true)$/i.test(v.verdict) : undefined;
  return `<section class="load" id="load"><h2>Load test ${v.verdict ? `<span class="badge ${good ? 'pass' : 'fail'}">${esc(v.verdict)}</span>` : ''}</h2>
<p class="what">Many participants at once (from <code>load/summary.json</code>, written ${l.writtenAt ? esc(when(l.writtenAt)) : 'earlier'}).
${l.hasPage ? 'Full results: <a href="load/index.html">load/index.html</a>.' : 'The full load page (load/index.html) is not there.'}</p>
${v.reasons.length ? `<ul class="reasons">${v.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}
${v.thresholds.length ? `<table class="matrix"><thead><tr><th>Threshold</th><th>Result</th><th>Seen</th></tr></thead><tbody>${v.thresholds.map((t) =>
    `<tr><td>${esc(t.name)}</td><td>${t.ok ? '<span class="badge pass">Met</span>' : '<span class="badge fail">Not met</span>'}</td><td>${esc(t.detail ?? '')}</td></tr>`).join('')}</tbody></table>` : '<p class="none">No thresholds in the summary.</p>'}
${v.facts.length ? `<table class="kv">${v.facts.map(([k, x]) => `<tr><th>${esc(k)}</th><td>${esc(x)}</td></tr>`).join('')}</table>` : ''}</section>`;
}

// Opens every <details> for printing (closed ones would print empty) and restores them after.
const SCRIPT = `const ds=()=>document.querySelectorAll('details');
addEventListener('beforeprint',()=>ds().forEach(d=>{d.dataset.was=d.open;d.open=true}));
addEventListener('afterprint',()=>ds().forEach(d=>{d.open=d.dataset.was==='true'}));
document.querySelectorAll('[data-open]').forEach(b=>b.addEventListener('click',()=>ds().forEach(d=>{d.open=b.dataset.open==='1'})));`;
// Only this script may run: even if escaping ever failed, injected markup could not execute or load anything.
const CSP = `default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`;

const CSS = `
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2125;margin:0 auto;padding:24px 32px 48px;max-width:1100px;background:#fff}
h1{font-size:15px;font-weight:600;color:#5f6b76;margin:0 0 12px;letter-spacing:.02em}
h2{font-size:21px;margin:0 0 4px;display:flex;gap:12px;align-items:baseline;flex-wrap:wrap}
h2 small{font-size:14px;font-weight:400}
section{margin:0 0 28px}
.verdict{display:flex;gap:28px;align-items:center;padding:20px 26px;border-radius:10px;border:3px solid}
.verdict.go{background:#e9f7ee;border-color:#1e8e3e}.verdict.nogo{background:#fdecec;border-color:#c5221f}
.verdict .big{font-size:72px;font-weight:800;line-height:1;letter-spacing:-.02em;min-width:250px;text-align:center;white-space:nowrap}
.verdict.go .big{color:#1e8e3e}.verdict.nogo .big{color:#c5221f}
.verdict.partial{background:#fef7e0;border-color:#e37400}.verdict.partial .big{color:#b06000}.verdict .big small{display:block;font-size:20px;letter-spacing:.1em;text-transform:uppercase}
.verdict .notrun{margin:0 0 10px;padding-left:18px;font-size:14px;color:#5f4300}
.verdict .line{font-size:18px;font-weight:600;margin:0 0 8px}
table.kv{border-collapse:collapse;margin-top:6px}table.kv th{text-align:left;font-weight:600;color:#5f6b76;padding:1px 16px 1px 0;vertical-align:top}table.kv td{padding:1px 0}
.attention ul{margin:8px 0 0;padding:0;list-style:none}.attention li{padding:6px 0;border-bottom:1px solid #eceff1}
.attention a{color:inherit;font-weight:600}
.rootcauses{border-left:6px solid #c5221f;padding-left:14px}.rootcauses h2{color:#c5221f}
.what{color:#4a555f;margin:0 0 10px}
.dim{color:#6b7680}.none{color:#6b7680;font-style:italic;margin:4px 0}
.badge{display:inline-block;font-size:12px;font-weight:700;text-transform:uppercase;letter-spacing:.04em;padding:2px 8px;border-radius:4px;color:#fff;white-space:nowrap}
.badge.pass{background:#1e8e3e}.badge.fail{background:#c5221f}.badge.warn{background:#b06000}.badge.skip{background:#80868b}
.count{font-weight:600;margin-right:6px}.count.pass{color:#1e8e3e}.count.fail{color:#c5221f}.count.warn{color:#b06000}.count.skip{color:#6b7680}
.suite{border-top:2px solid #dfe3e6;padding-top:14px}
.check{border:1px solid #dfe3e6;border-left:6px solid;border-radius:6px;padding:8px 12px;margin:8px 0;break-inside:avoid}
.check.pass{border-left-color:#1e8e3e}.check.fail{border-left-color:#c5221f;background:#fffafa}.check.warn{border-left-color:#b06000;background:#fffcf5}.check.skip{border-left-color:#80868b}
.check .title{font-weight:600}.check .meta{font-size:12px;color:#6b7680;margin-top:2px}.check .msg{margin:4px 0}.check .standin{font-size:12px;color:#7a5c00;margin:2px 0}
.check.fail .msg{color:#a50e0e;font-weight:500}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
details summary{cursor:pointer;color:#1a5fb4;font-size:13px}
.ev{margin:6px 0 10px}.ev-label{font-weight:600;font-size:13px}
.ev-part{display:grid;grid-template-columns:44px 1fr;gap:6px;margin-top:2px}.ev-part span{font-size:11px;text-transform:uppercase;color:#6b7680;padding-top:6px}
pre{margin:0;padding:6px 8px;background:#f5f7f8;border-radius:4px;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-word;max-height:420px;overflow:auto}
table.matrix{border-collapse:collapse;width:100%;font-size:14px}
table.matrix th{text-align:left;background:#f1f3f4;padding:6px 8px;border-bottom:2px solid #dfe3e6}
table.matrix td{padding:6px 8px;border-bottom:1px solid #eceff1;vertical-align:top}
tr.missed td{background:#fdecec}
ul.plain{list-style:none;margin:0;padding:0}ul.plain li{white-space:nowrap}.mark.ok{color:#1e8e3e;font-weight:700}.mark.bad{color:#c5221f;font-weight:700}
.nowrap{white-space:nowrap}b.bad{color:#c5221f;font-size:12px}
.alarm{background:#fdecec;border-left:6px solid #c5221f;padding:6px 10px}
.sheet{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}
.sheet figure{margin:0;border:1px solid #dfe3e6;border-radius:6px;padding:6px;break-inside:avoid}
.sheet.wide{grid-template-columns:repeat(auto-fill,minmax(320px,1fr))}h3{font-size:16px;margin:14px 0 6px}.reasons{color:#a50e0e}
.sheet img{width:100%;display:block;border-radius:3px}.sheet figcaption{font-size:12px;text-align:center;margin-top:4px;font-weight:600}
.tools{float:right}.tools button{font:inherit;font-size:13px;margin-left:6px;padding:3px 10px;border:1px solid #c4c9cd;background:#fff;border-radius:4px;cursor:pointer}
nav.toc{font-size:14px;margin:0 0 24px}nav.toc a{margin-right:14px;color:#1a5fb4}
footer{color:#6b7680;font-size:13px;border-top:1px solid #dfe3e6;padding-top:10px}
@page{margin:14mm}
@media print{body{padding:0;max-width:none;font-size:12px}.tools,nav.toc{display:none}pre{max-height:none;overflow:visible}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}.suite{break-before:auto}.verdict .big{font-size:56px}}
`;

export function renderHtml(r: VerifyReport, x: ReportExtras = {}, jsonFile = 'verify.json'): string {
  const toc = [...new Set(r.checks.map((c) => c.suite))].map((s) => `<a href="#suite-${esc(s)}">${esc(suiteTitle(s))}</a>`)
    .concat(x.faults ? ['<a href="#faults">Fault matrix</a>'] : [], x.screenshots?.length ? ['<a href="#screenshots">Screenshots</a>'] : [], x.load ? ['<a href="#load">Load</a>'] : []);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(`${r.verdict}${r.verdict === 'GO' && r.partial ? ' (partial)' : ''} · ${r.target} · comfy-verify`)}</title>
<style>${CSS}</style></head><body>
<div class="tools"><button data-open="1">Open all evidence</button><button data-open="0">Close all</button></div>
<h1>comfy-verify · ComfyUI Multi-User Workshop Platform</h1>
${verdictHtml(r)}
<nav class="toc">${toc.join('')}</nav>
${suitesHtml(r)}
${x.faults ? faultsHtml(x.faults) : ''}
${x.screenshots ? screenshotsHtml(x.screenshots) : ''}
${x.load ? loadHtml(x.load) : ''}
<footer>Generated ${esc(when(r.generatedAt))} by comfy-verify. The same results: <a href="${esc(jsonFile)}">${esc(jsonFile)}</a>, <a href="junit.xml">junit.xml</a>${x.faults ? ', <a href="faults.json">faults.json</a>' : ''}.
Passwords are replaced by «redacted» everywhere in this page.</footer>
<script>${SCRIPT}</script>
</body></html>
`;
}
