// The conformance scripts' header: what a script is about, the k6 documentation it follows, and the
// outcome that documentation gives, one `// expect KIND: ...` line each. The header is the script's
// leading comment lines:
//
//   // TITLE: the behaviour, in a sentence (the test's name; the lines before the first doc:)
//   // doc: URL                                  the page it follows (one or more; the first k6's)
//   // expect exit: N                            k6's exit code
//   // expect metric: NAME STAT OP NUMBER        data.metrics[NAME].values[STAT] in handleSummary's data;
//                                                NAME may be a sub-metric, NAME{tag:value} (k6 puts one
//                                                there for a threshold on it), STAT a key of values
//                                                (count, rate, passes, fails, value, min, max, avg, med, p(95))
//   // expect metric: NAME absent                no sample of NAME at all (k6 leaves it out of the data)
//   // expect check: "NAME" passes N fails M     the check's counts in data.root_group (and its groups)
//   // expect threshold: KEY EXPR ok|crossed     data.metrics[KEY].thresholds[EXPR].ok
//   // expect stdout: TEXT                       what handleSummary sent to stdout contains TEXT
//   // expect file: PATH TEXT                    handleSummary wrote PATH (from the working directory), containing TEXT
//   // expect log: TEXT                          a line logged (console, or an iteration's error) contains TEXT
//   // expect error: TEXT                        the run's error (why it stopped or was refused) contains TEXT
//   // module: URL FILE                           runs with the module map URL -> FILE (`k6 run --module URL=FILE`;
//                                                 FILE from the script's directory)
//
// OP is one of == != < <= > >=. Every run also writes k6's JSON output to out.json in its working
// directory (`expect file: out.json ...`). Other comment lines after the title are notes.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { RunResult } from '../run.ts';

export interface Script { file: string; name: string; title: string; docs: string[]; expects: string[]; modules?: Record<string, string> }

/** What a run left to judge. */
export interface Outcome { result: RunResult; stdout: string; logs: string[]; cwd: string }

export function readScript(file: string): Script {
  const header: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('//')) break;
    header.push(line.replace(/^\/\/ ?/, ''));
  }
  const docs = header.filter((l) => l.startsWith('doc: ')).map((l) => l.slice(5).trim());
  const expects = header.filter((l) => l.startsWith('expect ')).map((l) => l.slice(7).trim());
  const first = header.findIndex((l) => l.startsWith('doc: ') || l.startsWith('expect '));
  const title = header.slice(0, first < 0 ? header.length : first).join(' ').replace(/\s+/g, ' ').trim();
  const modules = Object.fromEntries(header.filter((l) => l.startsWith('module: ')).map((l) => l.slice(8).trim().split(/\s+/))
    .map(([url, path]) => [url, join(dirname(file), path)]));
  return { file, name: basename(file), title, docs, expects, modules };
}

/** Why a header cannot be judged, if it cannot. */
export function headerProblem(s: Script): string | undefined {
  if (!s.title) return 'no title line';
  if (!s.docs[0]?.startsWith('https://grafana.com/docs/k6/latest/')) return 'the first doc: line is not a https://grafana.com/docs/k6/latest/ page';
  if (!s.expects.some((e) => e.startsWith('exit:'))) return 'no "expect exit:" line';
  return s.expects.map((e) => (parse(e) ? undefined : `"expect ${e}" is not in the grammar`)).find(Boolean);
}

const OPS: Record<string, (a: number, b: number) => boolean> = {
  '==': (a, b) => a === b, '!=': (a, b) => a !== b, '<': (a, b) => a < b, '<=': (a, b) => a <= b, '>': (a, b) => a > b, '>=': (a, b) => a >= b,
};

type Judge = (o: Outcome) => string | undefined; // undefined: it holds; else what was found instead

function parse(line: string): Judge | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^exit: (\d+)$/.exec(line))) {
    const want = Number(m[1]);
    return ({ result: r }) => (r.exitCode === want ? undefined : `exit ${r.exitCode}${r.error ? ` (${r.error})` : ''}${r.failedThresholds.length ? ` [thresholds: ${r.failedThresholds.join('; ')}]` : ''}`);
  }
  if ((m = /^metric: (\S+) absent$/.exec(line))) {
    const name = m[1];
    return ({ result: r }) => (r.data.metrics[name] ? `${name} has samples: ${JSON.stringify(r.data.metrics[name].values)}` : undefined);
  }
  if ((m = /^metric: (\S+) (\S+) (==|!=|<=|>=|<|>) (-?\d+(?:\.\d+)?)$/.exec(line))) {
    const [, name, stat, op, num] = m;
    return ({ result: r }) => {
      const metric = r.data.metrics[name];
      if (!metric) return `no ${name} in the summary data (no sample of it)`;
      const v = metric.values[stat];
      if (typeof v !== 'number') return `${name} has no "${stat}" (values: ${JSON.stringify(metric.values)})`;
      return OPS[op](v, Number(num)) ? undefined : `${name} ${stat} is ${+v.toFixed(4)}`;
    };
  }
  if ((m = /^check: "(.+)" passes (\d+) fails (\d+)$/.exec(line))) {
    const [, name, passes, fails] = m;
    return ({ result: r }) => {
      const found = checksNamed(r.data.root_group, name);
      if (!found.length) return `no check "${name}" in root_group`;
      const p = found.reduce((n, c) => n + c.passes, 0), f = found.reduce((n, c) => n + c.fails, 0);
      return p === Number(passes) && f === Number(fails) ? undefined : `passes ${p} fails ${f}`;
    };
  }
  if ((m = /^threshold: (\S+) (.+) (ok|crossed)$/.exec(line))) {
    const [, key, expr, want] = m;
    return ({ result: r }) => {
      const t = r.data.metrics[key]?.thresholds?.[expr];
      if (!t) return `no threshold "${expr}" on ${key} in the summary data`;
      return t.ok === (want === 'ok') ? undefined : t.ok ? 'ok' : 'crossed';
    };
  }
  if ((m = /^(stdout|log|error): (.+)$/.exec(line))) {
    const [, where, text] = m;
    return (o) => {
      const got = where === 'stdout' ? o.stdout : where === 'log' ? o.logs.join('\n') : o.result.error ?? '';
      return got.includes(text) ? undefined : `${where}: ${JSON.stringify(got.slice(0, 300)) || 'nothing'}`;
    };
  }
  if ((m = /^file: (\S+) (.+)$/.exec(line))) {
    const [, path, text] = m;
    return ({ cwd }) => {
      const f = join(cwd, path);
      if (!existsSync(f)) return `no file ${path}`;
      return readFileSync(f, 'utf8').includes(text) ? undefined : `${path} does not contain ${text}`;
    };
  }
  return undefined;
}

interface Group { checks: { name: string; passes: number; fails: number }[]; groups: unknown[] }
function checksNamed(g: Group, name: string): Group['checks'] {
  return [...g.checks.filter((c) => c.name === name), ...(g.groups as Group[]).flatMap((sub) => checksNamed(sub, name))];
}

/** Each expectation that does not hold, with what was found instead. */
export function judge(s: Script, o: Outcome): string[] {
  return s.expects.flatMap((e) => {
    const check = parse(e);
    const found = check ? check(o) : 'not an expectation of this grammar';
    return found === undefined ? [] : [`expect ${e}\n      got: ${found}`];
  });
}
