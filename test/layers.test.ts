/**
 * The layers, read from the source's import statements (static, dynamic and type-only alike, as the
 * TypeScript scanner finds them, so comments and strings do not count): the CLI imports nothing of
 * pipeline/ but the library entry (demo and simulate may start the simulator); no import cycle anywhere
 * in pipeline/, between files or between rooms (folders and top-level files); stages and runners never
 * import up; the store knows rows, not stages or runners; the export does not reach into the report.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli.ts';

/** Every .ts file under a folder of the repository, relative to the root. */
function sources(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.posix.join(dir, f.split(path.sep).join('/')))
    .sort();
}

/** The repository files a source file imports (relative specifiers only; packages are not files of ours). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)));
}

const PIPELINE = sources('pipeline');
const GRAPH = new Map(PIPELINE.map((f) => [f, importsOf(f)]));

/** The import cycles of a graph: each strongly connected component of more than one file, or a file importing itself. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
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
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
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
      if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** `from → to` for every import of a file under `from` into a file that `allowed` refuses. */
function violations(from: string, allowed: (target: string, file: string) => boolean): string[] {
  return PIPELINE.filter((f) => f.startsWith(from)).flatMap((file) =>
    GRAPH.get(file)!
      .filter((target) => !allowed(target, file))
      .map((target) => `${file} → ${target}`),
  );
}

describe('layers', () => {
  it('reads every kind of import statement, and only statements', () => {
    const dir = fs.mkdtempSync(path.join(ROOT, 'test', '.layers-'));
    try {
      const file = path.join(dir, 'probe.ts');
      fs.writeFileSync(
        file,
        [
          "import type { A } from './a.ts';",
          "import {\n  b,\n  type C,\n} from './b.ts';",
          "export { d } from './d.ts';",
          "export type { E } from './e.ts';",
          "const f = await import('./f.ts');",
          "type G = typeof import('./g.ts');",
          "// import { h } from './comment.ts';",
          'const s = "import { i } from \'./string.ts\'";',
          "import 'node:fs';",
        ].join('\n'),
      );
      const rel = path.relative(ROOT, dir).split(path.sep).join('/');
      expect(importsOf(`${rel}/probe.ts`)).toEqual(['a.ts', 'b.ts', 'd.ts', 'e.ts', 'f.ts', 'g.ts'].map((f) => `${rel}/${f}`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds a cycle, type-only imports included', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', []],
      ['e.ts', ['e.ts']],
    ]);
    expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts'], ['e.ts']]);
  });

  it('the CLI imports nothing of pipeline/ but pipeline/index.ts (demo and simulate may start the simulator)', () => {
    const SIMULATOR_USERS = ['pipeline/cli/demo.ts', 'pipeline/cli/simulate.ts'];
    expect(PIPELINE.filter((f) => f.startsWith('pipeline/cli/')).length).toBeGreaterThan(10);
    expect(
      violations(
        'pipeline/cli/',
        (target, file) =>
          target.startsWith('pipeline/cli/') ||
          target === 'pipeline/index.ts' ||
          (target.startsWith('simulator/') && SIMULATOR_USERS.includes(file)),
      ),
    ).toEqual([]);
  });

  it('the library never imports the CLI', () => {
    expect(violations('pipeline/', (target, file) => file.startsWith('pipeline/cli/') || !target.startsWith('pipeline/cli/'))).toEqual([]);
  });

  it('has no import cycle in pipeline/', () => {
    expect(GRAPH.size).toBeGreaterThan(100);
    expect(cycles(GRAPH)).toEqual([]);
  });

  it('has no cycle between the rooms of pipeline/ either (a folder, or a file at its top level): every floor imports only floors below', () => {
    const roomOf = (file: string): string => file.split('/').slice(0, 2).join('/');
    const rooms = new Map<string, Set<string>>();
    for (const [file, targets] of GRAPH) {
      const from = roomOf(file);
      const to = rooms.get(from) ?? new Set<string>();
      for (const t of targets) if (GRAPH.has(t) && roomOf(t) !== from) to.add(roomOf(t));
      rooms.set(from, to);
    }
    expect(rooms.size).toBeGreaterThan(30);
    expect(cycles(new Map([...rooms].map(([room, to]) => [room, [...to]])))).toEqual([]);
    // The stages know the contract, never a runner: both runners import stages/stage.ts.
    expect(violations('pipeline/stages/', (target) => !target.startsWith('pipeline/runtime/'))).toEqual([]);
    expect(violations('pipeline/runtime/', (target) => !target.startsWith('pipeline/commands/'))).toEqual([]);
  });

  it('the store knows rows: it imports only itself and the pure core, never a stage, runner or command', () => {
    const CORE = [
      'pipeline/errors.ts',
      'pipeline/types.ts',
      'pipeline/parse.ts',
      'pipeline/text.ts',
      'pipeline/files.ts',
      'pipeline/paths.ts',
    ];
    expect(violations('pipeline/store/', (target) => target.startsWith('pipeline/store/') || CORE.includes(target))).toEqual([]);
  });

  it('export does not import the report: what both compute lives in pipeline/analysis/', () => {
    // The report may use the export's formats and tokenizers to measure training lengths as an export would.
    expect(violations('pipeline/export/', (target) => !target.startsWith('pipeline/report/'))).toEqual([]);
  });
});
