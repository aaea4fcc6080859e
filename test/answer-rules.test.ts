/** Answer rules (pure) and the answer prompt: what is rejected, what passes, and why. */
import { describe, expect, it } from 'vitest';
import { answerMessages, loadAnswerTemplate } from '../pipeline/answer/prompt.ts';
import { checkAnswer } from '../pipeline/answer/rules.ts';
import { TemplateError } from '../pipeline/templates.ts';
import { tempDir, writeTemp } from './helpers.ts';

const task = { instruction: '解释一下复利是什么。', input: '' };
const verdict = (output: string, finishReason: string | null = 'stop', t = task) => checkAnswer({ ...t, output, finishReason });

describe('checkAnswer', () => {
  it.each([
    ['', 'empty'],
    ['   \n ', 'empty'],
    ['抱歉，我无法回答这个问题。', 'refusal'],
    ['作为一个AI语言模型，我不能提供投资建议。', 'refusal'],
    ['略', 'placeholder'],
    ['答案略。', 'placeholder'],
    ['[在此填写答案]', 'placeholder'],
    ['（此处填写回答）', 'placeholder'],
    ['……', 'placeholder'],
    ['TODO', 'placeholder'],
    ['复利就是利滚利。【此处插入例子】', 'placeholder'],
    ['<回答>', 'placeholder'],
    ['解释一下复利是什么。', 'repeats_prompt'],
  ])('%j is rejected as %s', (output, reason) => {
    const v = verdict(output);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toBe(reason);
  });

  it('an answer cut off by max_tokens is rejected whatever it says', () => {
    const v = verdict('复利是指把每一期的利息加入本金，下一期', 'length');
    expect(v).toMatchObject({ ok: false, reason: 'truncated' });
  });

  it('an answer that repeats the input is rejected; a real answer passes, cleaned', () => {
    const rewrite = { instruction: '把下面这句话改得更委婉。', input: '明天必须交。' };
    expect(verdict('明天必须交。', 'stop', rewrite)).toMatchObject({ ok: false, reason: 'repeats_prompt' });
    const ok = verdict('  复利是指把利息计入本金继续生息。\r\n例如存一万元，年利率3%，第二年的利息按10300元计算。  ');
    expect(ok).toEqual({ ok: true, output: '复利是指把利息计入本金继续生息。\n例如存一万元，年利率3%，第二年的利息按10300元计算。' });
    // Words that merely look like placeholders inside a real answer are fine.
    expect(verdict('这部分内容略显复杂，我们分三步看：先算利息，再并入本金，最后重复。').ok).toBe(true);
  });

  it('is total and linear on hostile input', () => {
    const huge = '['.repeat(200_000) + '在此填写' + 'x'.repeat(200_000);
    const started = performance.now();
    expect(() => verdict(huge)).not.toThrow();
    expect(() => verdict('\u0000\ud800'.repeat(50_000))).not.toThrow();
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('answer prompt', () => {
  it('is the system text plus the task: instruction, then the input after a blank line', () => {
    const t = loadAnswerTemplate();
    expect(t.sha256).toMatch(/^[0-9a-f]{64}$/);
    const withInput = answerMessages(t, { instruction: '总结下面这段话。', input: '今天下雨，比赛推迟。' });
    expect(withInput.map((m) => m.role)).toEqual(['system', 'user']);
    expect(withInput[1]!.content).toBe('总结下面这段话。\n\n今天下雨，比赛推迟。');
    expect(answerMessages(t, task)[1]!.content).toBe(task.instruction);
  });

  it('a different system text is a different template; an empty one sends no system message', () => {
    const a = loadAnswerTemplate();
    const b = loadAnswerTemplate({ system: '请简洁回答。' });
    expect(b.sha256).not.toBe(a.sha256);
    expect(answerMessages(loadAnswerTemplate({ system: '' }), task).map((m) => m.role)).toEqual(['user']);
  });

  it('a user template without {{instruction}} or with an unknown placeholder is refused with file and line', () => {
    const dir = tempDir();
    expect(() => loadAnswerTemplate({ userFile: writeTemp(dir, 'a.txt', '请回答：{{input}}\n') })).toThrow(
      /missing placeholder \{\{instruction\}\}/,
    );
    expect(() => loadAnswerTemplate({ userFile: writeTemp(dir, 'b.txt', '{{instruction}}\n{{output}}\n') })).toThrow(
      /b\.txt:2: unknown placeholder/,
    );
    expect(() => loadAnswerTemplate({ userFile: writeTemp(dir, 'c.txt', '{{instruction}}'), systemFile: '/nonexistent' })).toThrow(
      TemplateError,
    );
  });
});
