/**
 * The opening hints of a dialogue prompt, one per conversation asked for: a seed task, a machine-written
 * example, or a topic × task type, each turned into a line the model starts a conversation from.
 */
import type { Task } from '../types.ts';

export interface OpeningSources {
  seeds: readonly Task[];
  machineExamples: readonly Task[];
  topics: readonly string[];
  taskTypes: readonly string[];
  random: () => number;
}

const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)]!;
const quote = (s: string, max = 80): string => {
  const chars = [...s.replace(/\s+/gu, ' ').trim()];
  return chars.length > max ? `${chars.slice(0, max).join('')}……` : chars.join('');
};

/** `count` numbered lines; sources that are empty are skipped (seeds are always there in a real run). */
export function openingLines(count: number, s: OpeningSources): string {
  const kinds: ('seed' | 'machine' | 'topic')[] = [];
  if (s.seeds.length > 0) kinds.push('seed', 'seed');
  if (s.machineExamples.length > 0) kinds.push('machine');
  if (s.topics.length > 0 && s.taskTypes.length > 0) kinds.push('topic', 'topic');
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) {
    const kind = kinds.length === 0 ? 'free' : pick(kinds, s.random);
    let hint: string;
    if (kind === 'seed' || kind === 'machine') {
      const task = pick(kind === 'seed' ? s.seeds : s.machineExamples, s.random);
      hint =
        `用户想做的事和这条任务相近，但要换成他自己的情境来问：“${quote(task.instruction)}”` +
        (task.input === '' ? '' : `（相关材料：“${quote(task.input, 60)}”）`);
    } else if (kind === 'topic') {
      hint = `话题是“${pick(s.topics, s.random)}”，开场属于“${pick(s.taskTypes, s.random)}”这类请求`;
    } else {
      hint = '日常生活或工作中的一个具体求助，话题自选';
    }
    lines.push(`${i}. ${hint}`);
  }
  return lines.join('\n');
}
