import { describe, expect, it } from 'vitest';
import {
  buildPrompt,
  DEFAULT_TASK_TYPE_LIST,
  DEFAULT_TEMPLATE_FILES,
  DEFAULT_TOPIC_LIST,
  loadTemplate,
  sample,
} from '../pipeline/prompt.ts';
import { loadList, TemplateError } from '../pipeline/templates.ts';
import { tempDir, writeTemp } from './helpers.ts';

const seeds = Array.from({ length: 10 }, (_, i) => ({ instruction: `种子任务${i}`, input: '', output: `答案${i}` }));
const seeded = (s: number) => () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;

describe('templates', () => {
  it('loads the shipped templates and records their hash', () => {
    const t = loadTemplate(DEFAULT_TEMPLATE_FILES['self-instruct'], 'self-instruct');
    expect(t.name).toBe('self_instruct');
    expect(t.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(loadTemplate(DEFAULT_TEMPLATE_FILES.topics, 'topics').name).toBe('topics');
  });

  it('fills self-instruct prompts with 3 seeds and the machine examples, asking for N tasks', () => {
    const template = loadTemplate(DEFAULT_TEMPLATE_FILES['self-instruct'], 'self-instruct');
    const machine = [
      { instruction: '机器任务甲', input: '', output: '甲' },
      { instruction: '机器任务乙', input: '', output: '乙' },
    ];
    const prompt = buildPrompt({
      mode: 'self-instruct',
      template,
      numTasks: 20,
      maxOutputChars: 300,
      seeds,
      machineExamples: machine,
      topics: [],
      taskTypes: [],
      random: seeded(1),
    });
    expect(prompt).toContain('20 个新任务');
    expect(prompt).not.toMatch(/\{\{/);
    expect(prompt.match(/种子任务\d/g)).toHaveLength(3);
    expect(prompt).toContain('机器任务甲');
    expect(prompt).toContain('机器任务乙');
    // The first "N 个" in the prompt is the task count (the simulator and humans read it so).
    expect(/(\d{1,3})\s*个/.exec(prompt)![1]).toBe('20');
  });

  it('fills topics prompts with random topic and task-type lists', () => {
    const template = loadTemplate(DEFAULT_TEMPLATE_FILES.topics, 'topics');
    const topics = loadList(DEFAULT_TOPIC_LIST);
    const taskTypes = loadList(DEFAULT_TASK_TYPE_LIST);
    const a = buildPrompt({
      mode: 'topics',
      template,
      numTasks: 20,
      maxOutputChars: 300,
      seeds,
      machineExamples: [],
      topics,
      taskTypes,
      random: seeded(1),
    });
    const b = buildPrompt({
      mode: 'topics',
      template,
      numTasks: 20,
      maxOutputChars: 300,
      seeds,
      machineExamples: [],
      topics,
      taskTypes,
      random: seeded(2),
    });
    expect(a).not.toBe(b);
    expect(a.split('\n').filter((l) => l.startsWith('- ')).length).toBe(11);
    expect(/(\d{1,3})\s*条/.exec(a)![1]).toBe('20');
  });

  it('rejects a template with a missing or unknown placeholder, naming file and line', () => {
    const dir = tempDir();
    const missing = writeTemp(dir, 'bad.prompt.txt', '请写 {{num_tasks}} 个任务。');
    expect(() => loadTemplate(missing, 'self-instruct')).toThrow(TemplateError);
    expect(() => loadTemplate(missing, 'self-instruct')).toThrow(/bad\.prompt\.txt: .*missing placeholder \{\{examples\}\}/);
    const unknown = writeTemp(dir, 'unknown.prompt.txt', '示例：{{examples}}\n请写 {{num_taks}} 个任务。');
    expect(() => loadTemplate(unknown, 'self-instruct')).toThrow(/unknown\.prompt\.txt:2: unknown placeholder \{\{num_taks\}\}/);
  });
});

describe('sample', () => {
  it('picks k distinct items', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    for (let s = 1; s < 50; s++) {
      const picked = sample(items, 5, seeded(s));
      expect(new Set(picked).size).toBe(5);
    }
    expect(sample(items.slice(0, 3), 5, seeded(3)).sort()).toEqual([0, 1, 2]);
  });
});
