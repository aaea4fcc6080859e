/** Library defaults of the answer stage (a module of its own: `stats` reads them without loading the stage). */
export const ANSWER_DEFAULTS = { maxTokens: 2048, temperature: 0.7, topP: 1, retries: 2 } as const;

/** Before any answer has come back, an answer is expected to be accepted this often. */
export const PRIOR_ANSWER_YIELD = 0.9;
/** Before a run has its own figure, this share of the instructions asked for is expected to be kept. */
export const PRIOR_INSTRUCTION_SHARE = 0.7;
/** Dialogues built turn by turn: before any is finished, an opening is expected to become an accepted conversation this often. */
export const PRIOR_DIALOGUE_YIELD = 0.7;
