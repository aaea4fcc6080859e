/**
 * The simulator's conversations against the pipeline's parser and checks: every flaw it makes is caught
 * by the reason meant for it, and clean conversations pass. Figures printed come from the simulator.
 */
import { describe, expect, it } from 'vitest';
import { checkDialogue } from '../../pipeline/dialogue/checks.ts';
import { parseDialogues } from '../../pipeline/dialogue/parse.ts';
import { createComposer } from '../composer.ts';
import { DIALOGUE_FLAWS, DIALOGUE_SHAPES, dialogueMaker, dialogueRequest, renderDialogues, type SimDialogue } from '../dialogues.ts';
import { createRng } from '../random.ts';

function maker(seed: number) {
  const rng = createRng(seed);
  const history: never[] = [];
  return { rng, make: dialogueMaker(createComposer(seed + 1), rng, history, () => {}) };
}

const EXPECTED: Record<string, string> = {
  two_users: 'not_alternating',
  empty_turn: 'empty_turn',
  ends_on_user: 'ends_on_user',
  ignores_history: 'no_dialogue_dependency',
  repeats_answer: 'no_dialogue_dependency',
  loop: 'degenerate_output',
  too_few: 'too_few_turns',
};

describe('simulator conversations', () => {
  it('reads the count and the exchange bounds from the prompt', () => {
    expect(dialogueRequest('请写 6 段完整的对话……每段对话有 3 到 5 轮')).toEqual({ count: 6, min: 3, max: 5 });
  });

  it('every shape parses back to the same turns', () => {
    const { rng, make } = maker(3);
    const made: SimDialogue[] = Array.from({ length: 4 }, () => make.make(2, 4, 0, 0));
    for (const shape of DIALOGUE_SHAPES) {
      const parsed = parseDialogues(renderDialogues(made, shape, rng));
      expect(
        parsed.dialogues.map((d) => d.turns),
        shape,
      ).toEqual(made.map((d) => d.turns));
    }
  });

  it('each flaw is rejected for its own reason; clean conversations pass', () => {
    const { make } = maker(7);
    const rows: string[] = [];
    const hits: [string, number][] = [];
    for (const flaw of [null, ...DIALOGUE_FLAWS]) {
      let n = 0;
      let hit = 0;
      const reasons: Record<string, number> = {};
      while (n < 200) {
        const d = make.make(2, 4, flaw === null ? 0 : 1, 0);
        if (d.flaw !== flaw) continue;
        n++;
        const v = checkDialogue(d.turns);
        const reason = v.ok ? 'accepted' : v.reason;
        reasons[reason] = (reasons[reason] ?? 0) + 1;
        if (reason === (flaw === null ? 'accepted' : EXPECTED[flaw])) hit++;
      }
      rows.push(`${String(flaw ?? 'clean').padEnd(16)} ${hit}/${n}  ${JSON.stringify(reasons)}`);
      hits.push([String(flaw), hit / n]);
    }
    console.log(rows.join('\n'));
    // Lexical evidence cannot catch every unrelated follow-up: the simulator's requests share boilerplate
    // (介绍…时可以用的例子) and some contain weak reference words (再, 例子). Measured 177/200 at this seed.
    for (const [flaw, share] of hits) expect(share, flaw).toBeGreaterThanOrEqual(flaw === 'ignores_history' ? 0.85 : 0.95);
  });
});
