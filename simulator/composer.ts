/**
 * Synthetic Chinese instruction tasks for the simulator. TEST DATA ONLY: the text is assembled from
 * word lists and sentence frames and must never be presented as model output or used for training.
 *
 * Diversity is the point: the pipeline rejects a task whose instruction+input is ≥ 0.7 similar to an
 * earlier one, so each family varies its sentence frames and lets slot content (subjects, aspects,
 * audiences, inputs) carry most of the characters.
 */
import type { Rng } from './random.ts';
import { createRng } from './random.ts';
import type { Family, SimTask } from './families/common.ts';
import { codeSnippet, codeWrite } from './families/code.ts';
import { advice, compare, explain, howTo, list } from './families/knowledge.ts';
import { math } from './families/math.ts';
import { classify, extract, rewrite, sentiment, summarize } from './families/text.ts';
import { translate } from './families/translate.ts';
import { brainstorm, write, writeFromNotes } from './families/writing.ts';

export type { SimTask } from './families/common.ts';

/**
 * Relative weights. Families with input (summarize … writeFromNotes, and part of math) make up about
 * 37% of tasks, matching the share the generation prompts ask for.
 */
const FAMILIES: readonly (readonly [Family, number])[] = [
  [explain, 15],
  [compare, 7],
  [list, 8],
  [howTo, 7],
  [advice, 7],
  [write, 13],
  [brainstorm, 4],
  [codeWrite, 1],
  [math, 2.5],
  [summarize, 8],
  [rewrite, 6],
  [translate, 8],
  [classify, 4],
  [extract, 4],
  [sentiment, 3],
  [codeSnippet, 1.5],
  [writeFromNotes, 3],
];
const TOTAL_WEIGHT = FAMILIES.reduce((s, [, w]) => s + w, 0);

export interface Composer {
  /** One new synthetic task. */
  compose(): SimTask;
}

/** Deterministic for a seed: the same seed gives the same sequence of tasks. */
export function createComposer(seed: number): Composer {
  return composerFrom(createRng(seed));
}

/** A composer drawing from an existing random stream (the simulator shares one per server). */
export function composerFrom(rng: Rng): Composer {
  return {
    compose(): SimTask {
      let r = rng.next() * TOTAL_WEIGHT;
      for (const [family, weight] of FAMILIES) {
        r -= weight;
        if (r < 0) return family(rng);
      }
      return FAMILIES[0]![0](rng);
    },
  };
}
