/** The judge reply parser: every shape a judge writes, id matching, and totality on hostile input. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJudgeReply, repairJson } from '../pipeline/judge/parse.ts';
import { buildJudgeMessages, JudgeError, loadRubric } from '../pipeline/judge/rubric.ts';
import { tempDir, writeTemp } from './helpers.ts';

const item = (id: number | string, score: unknown, extra: Record<string, unknown> = {}) => ({
  id,
  score,
  sub_scores: { clarity: 9, correctness: 8, helpfulness: 7, fluency: 9 },
  flags: [],
  reason: '回答正确。',
  ...extra,
});
const ids = [1, 2, 3];

describe('parseJudgeReply shapes', () => {
  it('reads {"results": [...]} with sub-scores, flags and reason', () => {
    const text = JSON.stringify({ results: [item(1, 8), item(2, 3, { flags: ['factual_error', 'truncated'] }), item(3, 10)] });
    const r = parseJudgeReply(text, ids);
    expect(r.shape).toBe('json');
    expect(r.missing).toEqual([]);
    expect(r.judged.get(1)).toEqual({
      score: 8,
      subScores: { clarity: 9, correctness: 8, helpfulness: 7, fluency: 9 },
      flags: [],
      reason: '回答正确。',
    });
    expect(r.judged.get(2)!.flags).toEqual(['factual_error', 'truncated']);
  });

  it("reads the rubric's compact sub-scores [clarity, correctness, helpfulness, fluency]", () => {
    const r = parseJudgeReply('{"results":[{"id":1,"score":3,"sub":[9,2,"3",0],"flags":["factual_error"],"reason":"计算错误。"}]}', [1]);
    expect(r.judged.get(1)).toEqual({
      score: 3,
      subScores: { clarity: 9, correctness: 2, helpfulness: 3 },
      flags: ['factual_error'],
      reason: '计算错误。',
    });
  });

  it('reads a bare array, a fenced block with chatter, and an object keyed by id', () => {
    const arr = JSON.stringify([item(1, 7), item(2, 6), item(3, 5)]);
    expect([...parseJudgeReply(arr, ids).judged.keys()]).toEqual([1, 2, 3]);
    const fenced = `好的，以下是我的评审结果：\n\n\`\`\`json\n${arr}\n\`\`\`\n\n如有疑问请告诉我。`;
    const f = parseJudgeReply(fenced, ids);
    expect(f.shape).toBe('fenced');
    expect(f.judged.size).toBe(3);
    const keyed = JSON.stringify({ 1: { score: 9 }, 2: { score: '4分' }, 3: { score: '6/10' } });
    const k = parseJudgeReply(keyed, ids);
    expect([...k.judged.entries()].map(([id, j]) => [id, j.score])).toEqual([
      [1, 9],
      [2, 4],
      [3, 6],
    ]);
  });

  it('mends slightly malformed JSON: trailing commas, bare keys, single quotes, full-width colons, missing commas', () => {
    const text = `{results: [ {'id': 1, 'score': 8, 'reason': '不错',}, {"id"：2，"score"：5} {"id": 3, "score": 2, // 错了
      "flags": ["factual_error"],}, ]}`;
    const r = parseJudgeReply(text, ids);
    expect(r.missing).toEqual([]);
    expect(r.judged.get(1)!.reason).toBe('不错');
    expect(r.judged.get(3)!.flags).toEqual(['factual_error']);
  });

  it('salvages whole items from a reply cut off mid-item', () => {
    const full = JSON.stringify({ results: [item(1, 8), item(2, 7), item(3, 6)] });
    const cut = full.slice(0, full.indexOf('"id":3') + 10);
    const r = parseJudgeReply(cut, ids);
    expect([...r.judged.keys()]).toEqual([1, 2]);
    expect(r.missing).toEqual([3]);
    expect(r.shape).toBe('salvaged');
    expect(r.problems.join(' ')).toMatch(/cut off/);
  });

  it('raw newlines inside reason strings and ids written as "#2" or "任务3"', () => {
    const text = '[{"id": "1", "score": 8, "reason": "第一行\n第二行"}, {"id": "#2", "score": 6}, {"编号": "任务3", "总分": 4}]';
    const r = parseJudgeReply(text, ids);
    expect(r.missing).toEqual([]);
    expect(r.judged.get(1)!.reason).toBe('第一行\n第二行');
    expect(r.judged.get(3)!.score).toBe(4);
  });
});

describe('id matching', () => {
  it('missing ids are reported for a later request, extras ignored, repeats keep the first', () => {
    const text = JSON.stringify([item(1, 8), item(1, 2), item(7, 9), item(3, 5)]);
    const r = parseJudgeReply(text, ids);
    expect(r.missing).toEqual([2]);
    expect(r.extra).toBe(1);
    expect(r.repeated).toBe(1);
    expect(r.judged.get(1)!.score).toBe(8);
    expect(r.judged.has(7)).toBe(false);
  });

  it('items without ids match by position only when there is exactly one per task', () => {
    const noIds = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ score: i + 5 })));
    expect([...parseJudgeReply(noIds(3), ids).judged.entries()].map(([k, j]) => [k, j.score])).toEqual([
      [1, 5],
      [2, 6],
      [3, 7],
    ]);
    expect(parseJudgeReply(noIds(2), ids).missing).toEqual([1, 2, 3]);
  });

  it('out-of-range or non-numeric scores leave the task missing; unknown flags are dropped', () => {
    const text = JSON.stringify([item(1, 0), item(2, 'good'), item(3, 11), { id: 1, score: 12 }]);
    expect(parseJudgeReply(text, ids).missing).toEqual([1, 2, 3]);
    const f = parseJudgeReply(JSON.stringify([item(1, 5, { flags: ['truncated', 'bogus', 'truncated'] })]), [1]);
    expect(f.judged.get(1)!.flags).toEqual(['truncated']);
    expect(f.problems.some((p) => p.includes('bogus'))).toBe(true);
  });

  it('an unusable reply judges nothing and says why', () => {
    for (const text of ['', '抱歉，我无法完成评审。', '{"results": "none"}', '[1, 2, 3]']) {
      const r = parseJudgeReply(text, ids);
      expect(r.judged.size).toBe(0);
      expect(r.missing).toEqual(ids);
      expect(r.problems.length).toBeGreaterThan(0);
    }
  });
});

describe('totality', () => {
  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        const r = parseJudgeReply(s, ids);
        return r.missing.length + r.judged.size === 3;
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom('{', '}', '[', ']', '"', ',', ':', 'score', '1', ' ', '\n', "'", '：')), (parts) => {
        parseJudgeReply(parts.join(''), ids);
        repairJson(parts.join(''));
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it('deep nesting and long input stay iterative and linear', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const open = '{"results": ['.repeat(50_000);
    const many = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => item(i + 1, 5)));
    const t0 = performance.now();
    expect(parseJudgeReply(deep, ids).judged.size).toBe(0);
    expect(parseJudgeReply(open, ids).judged.size).toBe(0);
    expect(parseJudgeReply(many, [1, 20_000]).judged.size).toBe(2);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});

describe('rubric', () => {
  it('the shipped rubric loads and the prompt carries every task under its id', () => {
    const rubric = loadRubric();
    expect(rubric.sha256).toMatch(/^[0-9a-f]{64}$/);
    const [msg] = buildJudgeMessages(rubric, [
      { id: 1, instruction: '把“你好”翻译成英文。', input: '', output: 'Hello.' },
      { id: 2, instruction: '总结下面这段话。', input: '{{tasks}} 今天下雨。', output: '今天下雨。' },
    ]);
    expect(msg!.content).toContain('### 任务 id=1');
    expect(msg!.content).toContain('【输入】（无）');
    expect(msg!.content).toContain('{{tasks}} 今天下雨。');
    expect(msg!.content).toContain('factual_error');
    expect(msg!.content).not.toMatch(/\{\{\s*(count|flags)\s*\}\}/);
  });

  it('a rubric without {{tasks}} or with an unknown placeholder fails with file:line', () => {
    const dir = tempDir();
    const missing = writeTemp(dir, 'r1.txt', '请给下面的任务打分。\n只输出 JSON。\n');
    expect(() => loadRubric(missing)).toThrow(new JudgeError(`${missing}:3: rubric is missing placeholder {{tasks}}`));
    const unknown = writeTemp(dir, 'r2.txt', '第一行\n{{tasks}}\n共 {{num}} 条\n');
    expect(() => loadRubric(unknown)).toThrow(/r2\.txt:3: unknown placeholder \{\{num\}\}/);
  });
});

describe('the simulated judge (made-up scores, not a quality model)', () => {
  it('writes every reply shape so the parser matches every id, and scores its planted defects low', async () => {
    const { createRng } = await import('../simulator/random.ts');
    const { createComposer } = await import('../simulator/composer.ts');
    const { DefectPlanter, judgeReply } = await import('../simulator/judge.ts');
    const rng = createRng(5);
    const composer = createComposer(6);
    const planter = new DefectPlanter(createRng(7), 0.3, () => composer.compose());
    const shapes = new Set<string>();
    let defects = 0;
    let lowDefects = 0;
    let malformed = 0;
    for (let r = 0; r < 200; r++) {
      const tasks = Array.from({ length: 10 }, (_, i) => {
        const clean = composer.compose();
        const t = planter.maybeSpoil(clean);
        return { id: i + 1, ...t, spoiled: t !== clean };
      });
      const [msg] = buildJudgeMessages(loadRubric(), tasks);
      const text = judgeReply(msg!.content, r % 2 === 0, planter, rng, { omit: 0, repeat: 0.2, extra: 0.2 });
      const parsed = parseJudgeReply(
        text,
        tasks.map((t) => t.id),
      );
      shapes.add(parsed.shape);
      if (parsed.shape === 'json') {
        try {
          JSON.parse(text);
        } catch {
          malformed++;
        }
      }
      expect(parsed.missing, text).toEqual([]);
      for (const t of tasks) {
        if (!t.spoiled) continue;
        defects++;
        if (parsed.judged.get(t.id)!.score <= 3 && parsed.judged.get(t.id)!.flags.length > 0) lowDefects++;
      }
    }
    expect([...shapes].sort()).toEqual(['fenced', 'json']);
    expect(malformed).toBeGreaterThan(10); // slightly malformed JSON, mended by the parser
    expect(defects).toBeGreaterThan(300);
    expect(lowDefects).toBe(defects);
  });
});
