// A small nginx configuration parser: directives, arguments (quotes removed, escapes kept
// as nginx reads them), nested blocks. Enough to reason about a site file's structure
// (which locations exist, what they proxy to, which headers each one really sends) without
// running nginx. Not a validator: real nginx (`nginx -t`) is the judge of syntax.

export interface Directive {
  name: string;
  args: string[];
  /** present for block directives (server, location, if, map, ...) */
  block?: Directive[];
  /** 1-based line of the directive's name */
  line: number;
}

interface Token { text: string; quoted: boolean; line: number }

/** nginx's own unescaping (ngx_conf_read_token): \" \' \\ \t \r \n; any other \x stays as is. */
const unescape = (n: string): string =>
  n === '"' || n === "'" || n === '\\' ? n : n === 't' ? '\t' : n === 'r' ? '\r' : n === 'n' ? '\n' : `\\${n}`;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const c = src[i];
    if (c === '\n') { line++; i++; continue; }
    if (/\s/.test(c)) { i++; continue; }
    if (c === '#') { while (i < src.length && src[i] !== '\n') i++; continue; }
    if (c === '{' || c === '}' || c === ';') { out.push({ text: c, quoted: false, line }); i++; continue; }
    const start = line;
    let text = '';
    let quoted = false;
    // A word: runs of plain characters and quoted strings, up to whitespace or ; { }
    while (i < src.length && !/\s/.test(src[i]) && !'{};'.includes(src[i])) {
      const q = src[i];
      if (q === '"' || q === "'") {
        quoted = true;
        i++;
        while (i < src.length && src[i] !== q) {
          if (src[i] === '\\' && i + 1 < src.length) {
            text += unescape(src[i + 1]);
            i += 2;
            continue;
          }
          if (src[i] === '\n') line++;
          text += src[i++];
        }
        if (i >= src.length) throw new Error(`unterminated quote starting on line ${start}`);
        i++;
      } else {
        if (q === '\\' && i + 1 < src.length) { text += unescape(src[i + 1]); i += 2; continue; }
        text += src[i++];
      }
    }
    out.push({ text, quoted, line: start });
  }
  return out;
}

export function parseNginx(src: string): Directive[] {
  const toks = tokenize(src);
  let pos = 0;
  const parseBlock = (top: boolean): Directive[] => {
    const list: Directive[] = [];
    while (pos < toks.length) {
      const t = toks[pos];
      if (t.text === '}' && !t.quoted) {
        if (top) throw new Error(`unexpected } on line ${t.line}`);
        pos++;
        return list;
      }
      if ((t.text === '{' || t.text === ';') && !t.quoted) throw new Error(`unexpected ${t.text} on line ${t.line}`);
      const d: Directive = { name: t.text, args: [], line: t.line };
      pos++;
      for (;;) {
        const a = toks[pos];
        if (!a) throw new Error(`directive ${d.name} on line ${d.line} is not terminated`);
        pos++;
        if (!a.quoted && a.text === ';') break;
        if (!a.quoted && a.text === '{') { d.block = parseBlock(false); break; }
        if (!a.quoted && a.text === '}') throw new Error(`unexpected } on line ${a.line}`);
        d.args.push(a.text);
      }
      list.push(d);
    }
    if (!top) throw new Error('unexpected end of file: missing }');
    return list;
  };
  return parseBlock(true);
}

/** Depth-first walk with each directive's ancestors (outermost first). */
export function* walk(list: Directive[], ancestors: Directive[] = []): Generator<{ d: Directive; ancestors: Directive[] }> {
  for (const d of list) {
    yield { d, ancestors };
    if (d.block) yield* walk(d.block, [...ancestors, d]);
  }
}

export const children = (d: Directive, name: string): Directive[] => (d.block ?? []).filter((c) => c.name === name);
export const child = (d: Directive, name: string): Directive | undefined => children(d, name)[0];

/** `server` blocks wherever they are (top level of a site file, or inside http). */
export const servers = (tree: Directive[]): Directive[] => [...walk(tree)].map((x) => x.d).filter((d) => d.name === 'server');

/** A server listening with ssl. */
export const isTlsServer = (s: Directive): boolean => children(s, 'listen').some((l) => l.args.includes('ssl'));

/** Every location (and `if` inside one) of a server, with its ancestors inside the server. */
export function locationsOf(server: Directive): { d: Directive; chain: Directive[] }[] {
  return [...walk(server.block ?? [], [server])]
    .filter(({ d }) => d.name === 'location' || (d.name === 'if' && d.block))
    .map(({ d, ancestors }) => ({ d, chain: [...ancestors, d] }));
}

/**
 * The add_header list that really applies in a block, by nginx's rule: a level with any
 * add_header of its own replaces everything inherited; a level with none inherits its parent's.
 * Returns [name lower-cased, value, always?].
 */
export function effectiveAddHeaders(chain: Directive[]): [string, string, boolean][] {
  let current: [string, string, boolean][] = [];
  for (const level of chain) {
    const own = children(level, 'add_header');
    if (own.length) current = own.map((h) => [h.args[0].toLowerCase(), h.args[1] ?? '', h.args[2] === 'always']);
  }
  return current;
}

/** Location label as written: `= /health`, `/api/`, `~ ^/x`. */
export const locationLabel = (d: Directive): string => d.args.join(' ');
