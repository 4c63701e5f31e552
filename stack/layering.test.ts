// The tree's layers: stack/ (the stand-in platform and what every layer shares) below suites/ (the
// checks) below scripts/ (commands and reports). A file imports only from its own layer or below,
// so the stand-ins and the probe image never carry suite or command code.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { ROOT } from './images.ts';

const LAYERS = ['stack', 'suites', 'scripts'];
const layerOf = (file: string) => LAYERS.indexOf(relative(ROOT, file).split('/')[0]);

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (/\.(ts|mts|mjs)$/.test(name)) yield p;
  }
}

describe('layering', () => {
  it('nothing imports from a layer above its own', () => {
    const wrong: string[] = [];
    for (const layer of LAYERS) {
      for (const file of sources(join(ROOT, layer))) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
          const to = resolve(dirname(file), m[1]);
          if (layerOf(to) > layerOf(file)) wrong.push(`${relative(ROOT, file)} imports ${relative(ROOT, to)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
