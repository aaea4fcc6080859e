/** The export tokenizers' names, apart from the tokenizers: the options schema lists them at every start-up. */

export const TOKENIZERS = ['llama2', 'cl100k'] as const;
export type TokenizerName = (typeof TOKENIZERS)[number];
