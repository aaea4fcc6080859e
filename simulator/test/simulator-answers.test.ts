/** The simulator's two-stage side: instruction-only prompts get items without outputs, answer prompts an answer. */
import { describe, expect, it } from 'vitest';
import { checkAnswer } from '../../pipeline/answer/rules.ts';
import { parseReply } from '../../pipeline/parse.ts';
import { buildPrompt, DEFAULT_INSTRUCTION_TEMPLATE_FILES, loadTemplate } from '../../pipeline/prompt.ts';
import { DEFAULT_SEED_FILE, loadSeeds } from '../../pipeline/seeds.ts';
import { createChatEngine, type ChatCompletion } from '../completions.ts';
import { REPLY_SHAPES } from '../replies.ts';

const shapes = Object.fromEntries(REPLY_SHAPES.map((s) => [s, 1])) as Record<(typeof REPLY_SHAPES)[number], number>;
const noFaults = { rateLimit429: 0, serverError500: 0, hang: 0, truncate: 0, garbage: 0 };
const engine = (answerFaults = { refusal: 0, placeholder: 0, empty: 0 }, truncate = 0) =>
  createChatEngine({ seed: 9, nearDuplicateRate: 0, junkRate: 0, faults: { ...noFaults, truncate }, shapes, answerFaults });
const content = (r: { json: unknown }) => (r.json as ChatCompletion).choices[0]!;

describe('simulator, two-stage prompts', () => {
  it('answers an instruction-only prompt with items that have no output, in every shape', () => {
    const template = loadTemplate(DEFAULT_INSTRUCTION_TEMPLATE_FILES['self-instruct'], 'self-instruct');
    const prompt = buildPrompt({
      mode: 'self-instruct',
      template,
      numTasks: 30,
      maxOutputChars: 0,
      seeds: loadSeeds(DEFAULT_SEED_FILE),
      machineExamples: [],
      topics: [],
      taskTypes: [],
      random: Math.random,
      instructionOnly: true,
    });
    expect(prompt).not.toMatch(/"output"/);
    const e = engine();
    for (let i = 0; i < 20; i++) {
      const choice = content(e.completeChat({ model: 'm', messages: [{ role: 'user', content: prompt }] }));
      const parsed = parseReply(choice.message.content, choice.finish_reason);
      expect(parsed.tasks).toHaveLength(30);
      for (const t of parsed.tasks) expect(t.output).toBe('');
    }
  });

  it('answers an answer prompt with a longer structured answer that passes the rules, naming the question', () => {
    const e = engine();
    const question = '比较一下高铁和飞机在五百公里出行时的优缺点。';
    let chars = 0;
    for (let i = 0; i < 20; i++) {
      const choice = content(
        e.completeChat({
          model: 'm',
          messages: [
            { role: 'system', content: '你是助手。' },
            { role: 'user', content: question },
          ],
        }),
      );
      chars += choice.message.content.length;
      expect(choice.message.content.length).toBeGreaterThan(150);
      expect(choice.message.content).toMatch(/^关于“比较一下高铁和飞机/);
      expect(checkAnswer({ output: choice.message.content, finishReason: choice.finish_reason, instruction: question, input: '' }).ok).toBe(
        true,
      );
    }
    expect(chars / 20).toBeGreaterThan(300); // one-stage outputs are ≤ 300 characters
    expect(e.stats().answers.answer).toBe(20);
  });

  it('answer faults and truncation are what the answer rules reject', () => {
    const e = engine({ refusal: 0.3, placeholder: 0.2, empty: 0.1 }, 0.1);
    const reasons = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const choice = content(e.completeChat({ model: 'm', messages: [{ role: 'user', content: '为什么天空是蓝色的？' }] }));
      const v = checkAnswer({
        output: choice.message.content,
        finishReason: choice.finish_reason,
        instruction: '为什么天空是蓝色的？',
        input: '',
      });
      const key = v.ok ? 'ok' : v.reason;
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
    for (const reason of ['ok', 'refusal', 'placeholder', 'empty', 'truncated'])
      expect(reasons.get(reason) ?? 0, reason).toBeGreaterThan(10);
    // An answer cut by max_tokens is marked length.
    const cut = content(e.completeChat({ model: 'm', max_tokens: 20, messages: [{ role: 'user', content: '介绍一下都江堰。' }] }));
    expect(cut.finish_reason).toBe('length');
  });
});
