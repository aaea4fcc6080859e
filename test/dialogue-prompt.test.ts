import { describe, expect, it } from 'vitest';
import { promptMessages } from '../pipeline/stages/instructions.ts';
import { buildPrompt, DEFAULT_TEMPLATE_FILES, loadTemplate } from '../pipeline/prompt.ts';
import { TemplateError } from '../pipeline/templates.ts';
import { dialogueRequest, isDialoguePrompt } from '../simulator/dialogues.ts';
import { tempDir, writeTemp } from './helpers.ts';

const seeds = Array.from({ length: 10 }, (_, i) => ({
  instruction: `种子任务${i}：解释一个成语`,
  input: i % 2 ? '' : `材料${i}`,
  output: `答案${i}`,
}));
const seeded = (s: number) => () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;

describe('dialogue prompts', () => {
  const template = loadTemplate(DEFAULT_TEMPLATE_FILES.dialogue, 'dialogue');

  it('asks for N conversations of MIN–MAX exchanges, one opening hint each, from seeds, machine examples and topics', () => {
    const prompt = buildPrompt({
      mode: 'dialogue',
      template,
      numTasks: 6,
      maxOutputChars: 200,
      seeds,
      turns: { min: 2, max: 3 },
      machineExamples: [{ instruction: '机器写的任务：推荐一本书', input: '', output: '《活着》' }],
      topics: ['租房'],
      taskTypes: ['建议'],
      random: seeded(3),
    });
    expect(template.name).toBe('dialogue');
    expect(prompt).not.toMatch(/\{\{/);
    expect(prompt).toContain('请写 6 段完整的对话');
    expect(prompt).toContain('2 到 3 轮');
    expect(prompt.match(/^\d\. /gm)).toHaveLength(6 + 6); // six hints, six numbered requirements
    expect(prompt).toMatch(/种子任务\d|机器写的任务|租房/);
    // What the simulator (and a reader) takes from it.
    expect(isDialoguePrompt(prompt)).toBe(true);
    expect(dialogueRequest(prompt)).toEqual({ count: 6, min: 2, max: 3 });
  });

  it('promptMessages draws one machine example per conversation in dialogue mode', () => {
    const pool = Array.from({ length: 50 }, (_, i) => ({ instruction: `机器任务${i}`, input: '', output: '好' }));
    const [m] = promptMessages(
      { mode: 'dialogue', template, tasksPerRequest: 20, maxOutputChars: 300, seeds: [], topics: [], taskTypes: [] },
      pool,
      seeded(9),
    );
    expect(m!.content.match(/机器任务\d+/g)).toHaveLength(20);
  });

  it('a dialogue template without its placeholders is refused', () => {
    const file = writeTemp(tempDir(), 'bad.txt', '写几段对话：{{num_tasks}}');
    expect(() => loadTemplate(file, 'dialogue')).toThrow(TemplateError);
    expect(() => loadTemplate(file, 'dialogue')).toThrow(/unknown placeholder \{\{num_tasks\}\}/);
  });
});
