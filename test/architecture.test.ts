// The layer picture of README.md#architecture, held against the code: every relative import (static, type-only,
// re-export or dynamic import(), as TypeScript's own pre-processor reads them) of every source file.
//   - below the command line (src/cli, src/bin: the composition root) nothing in src/ imports sim/;
//   - src/ folders import only folders of lower layers (or their own);
//   - sim/ and src/ never import test code;
//   - no import cycle between files.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

/** src/ folders from the bottom up: a folder may import its own and those of lower layers only. */
const LAYERS: readonly (readonly string[])[] = [
  ['core'],
  ['policy', 'monitor', 'pictures'],
  ['attacks'],
  ['runtime'],
  ['links', 'recording'],
  ['dashboard'],
  ['launch'],
  ['distributed'],
  ['cli'],
  ['bin'],
];
const COMPOSITION_ROOT = new Set(['cli', 'bin']);

interface Import {
  from: string;
  to: string;
}

/** Every relative import of every .ts/.js source under src/ and sim/ (paths relative to the project). */
function readImports(): { files: string[]; imports: Import[] } {
  const files = ['src', 'sim']
    .flatMap((top) => readdirSync(join(PROJECT_ROOT, top), { recursive: true, encoding: 'utf8' }).map((f) => `${top}/${f}`))
    // The dashboard's page is browser code served as files, not imported by the product.
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('src/dashboard/page/'))
    .sort();
  const imports: Import[] = [];
  for (const from of files) {
    const info = ts.preProcessFile(readFileSync(join(PROJECT_ROOT, from), 'utf8'), true, true);
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const named = normalize(join(dirname(from), ref.fileName));
      // A .js specifier names the .ts file beside it (tsx and tsc resolve it so); a .ts one names itself.
      const to = existsSync(join(PROJECT_ROOT, named)) ? named : named.replace(/\.js$/, '.ts');
      imports.push({ from, to });
    }
  }
  return { files, imports };
}

function layerOf(path: string): number {
  const folder = path.split('/')[1] ?? '';
  const k = LAYERS.findIndex((l) => l.includes(folder));
  if (k < 0) throw new Error(`${path}: src/${folder}/ is in no layer of LAYERS (test/architecture.test.ts): place it`);
  return k;
}

/** Files on a cycle: Tarjan's strongly connected components with more than one file (or a file importing itself). */
function cycles(files: readonly string[], imports: readonly Import[]): string[][] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const i of imports) if (next.has(i.to)) next.get(i.from)!.push(i.to);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next.get(v)!.includes(v)) found.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

describe('the import map', () => {
  const { files, imports } = readImports();

  it('reads the whole tree (a check that reads nothing cannot fail)', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(imports.length).toBeGreaterThan(500);
  });

  it('every relative import names a file that exists (a moved module leaves no import behind)', () => {
    const missing = imports.filter((i) => !existsSync(join(PROJECT_ROOT, i.to)));
    expect(missing.map((i) => `${i.from} -> ${i.to}`)).toEqual([]);
  });

  it('nothing in src/ below the command line imports sim/', () => {
    const wrong = imports.filter((i) => i.from.startsWith('src/') && !COMPOSITION_ROOT.has(i.from.split('/')[1]!) && i.to.startsWith('sim/'));
    expect(wrong.map((i) => `${i.from} -> ${i.to}`)).toEqual([]);
  });

  it('src/ folders import only their own and lower layers', () => {
    const wrong = imports.filter((i) => {
      if (!i.from.startsWith('src/') || !i.to.startsWith('src/')) return false;
      const [a, b] = [i.from.split('/')[1], i.to.split('/')[1]];
      return a !== b && layerOf(i.to) >= layerOf(i.from);
    });
    expect(wrong.map((i) => `${i.from} -> ${i.to}`)).toEqual([]);
  });

  it('the product never imports test code', () => {
    const wrong = imports.filter((i) => i.to.startsWith('test/'));
    expect(wrong.map((i) => `${i.from} -> ${i.to}`)).toEqual([]);
  });

  it('no import cycles between files', () => {
    expect(cycles(files, imports)).toEqual([]);
  });

  it('the cycle finder finds a cycle (so an empty answer means something)', () => {
    const loop = cycles(['a', 'b', 'c'], [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' }]);
    expect(loop).toEqual([['a', 'b', 'c']]);
    expect(cycles(['a', 'b'], [{ from: 'a', to: 'b' }])).toEqual([]);
  });
});
