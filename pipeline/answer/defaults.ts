/** Library defaults of the answer stage (a module of its own: `stats` reads them without loading the stage). */
export const ANSWER_DEFAULTS = { maxTokens: 2048, temperature: 0.7, topP: 1, retries: 2 } as const;
