/**
 * Population benchmark, step 1 of 2: decide every record of a real corpus exactly as
 * `import --filter --similarity 1` does (the library's importTasks into a scratch database, then the
 * stored decisions read back in order), and draw a blind sample stratified by decision for labelling.
 *
 *   npm run bench:filters:sample -- [--data FILE] [--out DIR] [--seed 27] [--per-reason 40] [--kept 120]
 *
 * Defaults: --data ../shared/data/alpaca_zh_translated_20k.jsonl, --out /work/labels. Writes, outside the
 * repository (labels of that data must not be committed):
 *   blind.jsonl            {id, instruction, input, output} per sampled record, in hashed order, nothing
 *                          about the decision;
 *   blind-unlabelled.jsonl the blind records that labels.jsonl (if present) has no label for yet;
 *   decisions.jsonl        a header line (kind "population": counts per stratum, rules commit, seed), then
 *                          one line per record of the file (kind "record": id, stratum, decision, detail,
 *                          sampled).
 * Score with `npm run bench:filters:score` (test/bench/population/score.ts). Labelling guidelines:
 * test/bench/population/GUIDELINES.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDatasetFile } from '../../../pipeline/datasets.ts';
import { dedupKey } from '../../../pipeline/dedup/similarity.ts';
import { importTasks } from '../../../pipeline/commands/import.ts';
import { Store } from '../../../pipeline/store/store.ts';
import { cleanTask } from '../../../pipeline/text.ts';
import { DEFAULT_DRAW, type Decision, type DrawOptions, draw, recordId, stratumOf } from './draw.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SOURCE = 'population';

export class SampleError extends Error {}

export interface DecidedRecord {
  id: string;
  instruction: string;
  input: string;
  output: string;
  decision: Decision;
  detail: string | null;
  stratum: string;
}

/**
 * Every record of `file` with the decision `import --filter --similarity 1` makes for it. The import
 * stores every record it does not skip, in file order; it skips a record whose key an earlier record
 * already had. Walking the file with the same key puts each stored row back on its record, and a key
 * that does not match is an error rather than a silently shifted decision.
 */
export function decideAll(file: string): DecidedRecord[] {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'population-'));
  const db = path.join(scratch, 'population.db');
  try {
    const summary = importTasks({ in: file, db, source: SOURCE, filter: true, similarity: 1 });
    const records = readDatasetFile(file, { allowEmptyInstruction: true });
    const store = Store.open(db);
    try {
      const rows = store.decisionsOfSource(SOURCE);
      const seen = new Set<string>();
      const out = records.map((record, index): DecidedRecord => {
        const task = { instruction: record.instruction, input: record.input, output: record.output };
        const key = dedupKey(cleanTask(task));
        let decision: Decision;
        let detail: string | null = null;
        if (seen.has(key)) {
          decision = 'exact_repeat';
        } else {
          seen.add(key);
          const row = rows.next();
          if (row.done || row.value.key !== key)
            throw new SampleError(`${file}:${record.line}: stored decisions are out of step with the file`);
          decision = row.value.status === 'accepted' ? 'kept' : row.value.reason!;
          detail = row.value.detail;
        }
        return { id: recordId(index, task), ...task, decision, detail, stratum: stratumOf(decision, cleanTask(task).instruction) };
      });
      if (!rows.next().done) throw new SampleError(`${file}: the import stored more rows than the file has new records`);
      if (out.filter((r) => r.decision === 'exact_repeat').length !== summary.alreadyImported) {
        throw new SampleError(`${file}: exact repeats disagree with the import's count (${summary.alreadyImported})`);
      }
      return out;
    } finally {
      store.close();
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function rulesCommit(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'pipeline'], { cwd: ROOT, encoding: 'utf8' });
    return { commit, dirty: status.trim() !== '' };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

/** Writes a file whole or not at all. */
function writeAtomically(file: string, lines: readonly string[]): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  fs.renameSync(tmp, file);
}

function labelledIds(file: string): Set<string> {
  const ids = new Set<string>();
  if (!fs.existsSync(file)) return ids;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const id = (JSON.parse(line) as { id?: unknown }).id;
      if (typeof id === 'string') ids.add(id);
    } catch {
      // score.ts reports malformed label lines with their line numbers; here they only count as unlabelled.
    }
  }
  return ids;
}

function flagValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i === -1) return undefined;
  const value = argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new SampleError(`${name}: expected a value`);
  return value;
}

function integerFlag(argv: string[], name: string, fallback: number): number {
  const raw = flagValue(argv, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new SampleError(`${name}: expected a non-negative integer, got ${raw}`);
  return n;
}

function main(argv: string[]): void {
  const file = path.resolve(flagValue(argv, '--data') ?? path.join(ROOT, '../shared/data/alpaca_zh_translated_20k.jsonl'));
  const outDir = path.resolve(flagValue(argv, '--out') ?? '/work/labels');
  if (!path.relative(ROOT, outDir).startsWith('..'))
    throw new SampleError(`--out: ${outDir} is inside the repository; labels stay out of git`);
  const options: DrawOptions = {
    seed: integerFlag(argv, '--seed', DEFAULT_DRAW.seed),
    perReason: integerFlag(argv, '--per-reason', DEFAULT_DRAW.perReason),
    kept: integerFlag(argv, '--kept', DEFAULT_DRAW.kept),
  };
  const started = performance.now();
  const records = decideAll(file);
  const members = new Map<string, string[]>();
  for (const r of records) {
    let ids = members.get(r.stratum);
    if (!ids) members.set(r.stratum, (ids = []));
    ids.push(r.id);
  }
  const { perStratum, blindOrder } = draw(members, options);
  const sampled = new Set(blindOrder);
  const byId = new Map(records.map((r) => [r.id, r]));
  fs.mkdirSync(outDir, { recursive: true });

  const strata = Object.fromEntries(
    [...members]
      .sort((a, b) => b[1].length - a[1].length)
      .map(([s, ids]) => [s, { population: ids.length, sampled: perStratum.get(s)!.length }]),
  );
  const header = {
    kind: 'population',
    data: file,
    records: records.length,
    seed: options.seed,
    perReason: options.perReason,
    kept: options.kept,
    rules: rulesCommit(),
    drawnAt: new Date().toISOString(),
    strata,
  };
  writeAtomically(path.join(outDir, 'decisions.jsonl'), [
    JSON.stringify(header),
    ...records.map((r) =>
      JSON.stringify({ kind: 'record', id: r.id, stratum: r.stratum, decision: r.decision, detail: r.detail, sampled: sampled.has(r.id) }),
    ),
  ]);
  const blind = blindOrder.map((id) => {
    const r = byId.get(id)!;
    return JSON.stringify({ id, instruction: r.instruction, input: r.input, output: r.output });
  });
  writeAtomically(path.join(outDir, 'blind.jsonl'), blind);
  const labelled = labelledIds(path.join(outDir, 'labels.jsonl'));
  const unlabelled = blindOrder.filter((id) => !labelled.has(id));
  writeAtomically(
    path.join(outDir, 'blind-unlabelled.jsonl'),
    blind.filter((_, i) => !labelled.has(blindOrder[i]!)),
  );

  const lines = [
    `population: ${records.length} records of ${file}, decided as import --filter --similarity 1 ` +
      `(rules at ${header.rules.commit.slice(0, 10)}${header.rules.dirty ? ', pipeline/ modified' : ''}), ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s`,
    '',
    '  stratum                     records   share  sampled',
  ];
  for (const [s, { population, sampled: n }] of Object.entries(strata)) {
    lines.push(
      `  ${s.padEnd(26)} ${String(population).padStart(8)}  ${((100 * population) / records.length).toFixed(2).padStart(5)}%  ${String(n).padStart(7)}`,
    );
  }
  lines.push(
    '',
    `blind sample: ${blindOrder.length} records → ${path.join(outDir, 'blind.jsonl')} (seed ${options.seed})`,
    `not yet labelled: ${unlabelled.length} → ${path.join(outDir, 'blind-unlabelled.jsonl')}`,
    `decisions: ${path.join(outDir, 'decisions.jsonl')}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    if (err instanceof SampleError || (err instanceof Error && err.name === 'DatasetError')) {
      process.stderr.write(`bench:filters:sample: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
