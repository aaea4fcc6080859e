/**
 * The quality rules against the labelled fixture set (test/fixtures/rules.jsonl, written for this
 * project): every case's verdict and reason. Plus: details quote their evidence, the rules are total
 * and stay fast on hostile strings, and `import --filter` stores and `stats` lists the new reasons.
 */
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRules, checkTask, DEFAULT_RULE_OPTIONS, RULE_REASONS } from '../../pipeline/rules/index.ts';
import { cleanTask } from '../../pipeline/text.ts';
import { LabelsError, readLabels } from '../bench/labels.ts';
import { runCli } from '../cli.ts';
import { tempDir, writeTemp } from '../helpers.ts';

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), '../fixtures/rules.jsonl');
const cases = readLabels(FIXTURES);

describe('fixture set', () => {
  it('has at least 400 cases, junk of every rule reason and traps that must be kept', () => {
    expect(cases.length).toBeGreaterThanOrEqual(400);
    const reasons = new Set(cases.map((c) => c.reason));
    for (const r of RULE_REASONS) expect(reasons, r).toContain(r);
    expect(cases.filter((c) => c.verdict === 'keep').length).toBeGreaterThanOrEqual(150);
  });

  it.each(cases.map((c, i) => [i + 1, c.verdict === 'keep' ? 'keep' : c.reason, c.instruction.slice(0, 30), c] as const))(
    'line %i: %s — %s',
    (_line, _want, _title, c) => {
      const v = checkTask(cleanTask(c), DEFAULT_RULE_OPTIONS, { finishReason: c.finish_reason });
      const got = v.ok ? 'keep' : v.reason;
      const ok = c.verdict === 'keep' ? ['keep'] : [c.reason!, ...(c.also ?? [])];
      expect(ok, `${JSON.stringify(c)} → ${JSON.stringify(v)}`).toContain(got);
    },
  );
});

describe('details', () => {
  it('quote a piece of the task as evidence, on one line', () => {
    for (const c of cases) {
      const task = cleanTask(c);
      const hit = applyRules(task, DEFAULT_RULE_OPTIONS, { finishReason: c.finish_reason });
      if (hit === undefined || hit.reason.startsWith('instruction_too') || hit.reason === 'not_chinese') continue;
      if (hit.reason === 'contains_secret') {
        // The one reason that must not quote its evidence: the detail is stored and shown.
        expect(hit.detail).not.toMatch(/sk-[A-Za-z0-9_-]{8,}/);
        continue;
      }
      expect(hit.detail, hit.reason).not.toMatch(/\n/);
      const quoted = /"(?:…)?([^"]*?)(?:…)?"/u.exec(hit.detail)?.[1];
      if (hit.reason === 'empty_output' && quoted === undefined) continue;
      expect(quoted, `${hit.reason}: ${hit.detail}`).toBeDefined();
      // Evidence is quoted from the task as the rules saw it: cleaned (entities decoded).
      const text = `${task.instruction} ${task.input} ${task.output}`.replace(/\s+/g, ' ');
      expect(text.includes(quoted!.replace(/\s+/g, ' ').slice(0, 10)), `${hit.detail} in ${text.slice(0, 80)}`).toBe(true);
    }
  });

  it('a cut-off output is degenerate only when the caller says the reply hit the limit', () => {
    const task = {
      instruction: '谈谈你对远程办公的看法',
      input: '',
      output: '远程办公节省了通勤时间，但也让沟通变得更难。我认为最重要的是',
    };
    expect(checkTask(task)).toEqual({ ok: true });
    expect(checkTask(task, DEFAULT_RULE_OPTIONS, { finishReason: 'stop' })).toEqual({ ok: true });
    const cut = checkTask(task, DEFAULT_RULE_OPTIONS, { finishReason: 'length' });
    expect(cut.ok ? undefined : cut.reason).toBe('degenerate_output');
  });
});

describe('totality and cost', () => {
  it('never throws on any strings, and every reason is a known one', () => {
    const pieces = fc.constantFrom(...'这张照片下面的图片抱歉我无法作为AI&lt;>[]【】（）：\n。，的了');
    const text = fc.string({ unit: fc.oneof(pieces, fc.string({ unit: 'binary', maxLength: 1 })), maxLength: 200 });
    fc.assert(
      fc.property(text, text, text, fc.option(fc.constantFrom('length', 'stop')), (instruction, input, output, finishReason) => {
        const v = checkTask({ instruction, input, output }, DEFAULT_RULE_OPTIONS, { finishReason });
        if (!v.ok) expect(RULE_REASONS).toContain(v.reason);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads long hostile outputs (loops, brackets, entities, lone surrogates) without blowing up', () => {
    const units = ['好', '抱歉，', '[', '&lt;', '\n', '如果 a > b：\n', '\ud800', '这张照片', 'ab'.repeat(30), '。'];
    for (const unit of units) {
      const big = unit.repeat(Math.ceil(200_000 / unit.length));
      const v = checkTask({ instruction: `总结${big.slice(0, 300)}`, input: big, output: big });
      expect(typeof v.ok).toBe('boolean');
    }
  });
});

describe('labels file', () => {
  it('a bad line is a one-line error naming the file and line', () => {
    const dir = tempDir();
    const good = JSON.stringify({ instruction: 'a', input: '', output: 'b', verdict: 'keep' });
    const file = writeTemp(dir, 'bad.jsonl', `${good}\n{"instruction":"x","output":"y","verdict":"reject"}\n`);
    expect(() => readLabels(file)).toThrow(LabelsError);
    expect(() => readLabels(file)).toThrow(/bad\.jsonl:2: .*reason/);
  });
});

describe('through the CLI', () => {
  it('import --filter stores the new reasons with their evidence, and stats lists them', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'rules.db');
    const file = writeTemp(
      dir,
      'in.json',
      JSON.stringify([
        { instruction: '列出五种二十世纪九十年代的音乐流派', input: '', output: '垃圾摇滚、英伦摇滚、嘻哈、R&B、电子舞曲。' },
        { instruction: '为我们公司设计一个标志', input: '', output: '[插入标志设计]' },
        { instruction: '总结下面的文章', input: '', output: '文章讲了环保的重要性。' },
        { instruction: '写一句关于友谊的名言', input: '', output: '&amp;quot;朋友是另一个自己。&amp;quot;' },
      ]),
    );
    const r = await runCli(['import', '--in', file, '--db', db, '--filter']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/accepted 1, rejected 3/);
    for (const reason of ['placeholder_output', 'missing_input', 'markup_garbage']) expect(r.stderr).toContain(reason);
    const stats = await runCli(['stats', '--db', db, '--json']);
    const s = JSON.parse(stats.stdout) as { rejectedByReason: Record<string, number> };
    expect(s.rejectedByReason).toEqual({ placeholder_output: 1, missing_input: 1, markup_garbage: 1 });
    const text = await runCli(['stats', '--db', db]);
    expect(text.stdout).toMatch(/placeholder_output\s+1/);
  });
});
