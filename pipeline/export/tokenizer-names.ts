/** The built-in export tokenizers' names, apart from the tokenizers: the options schema lists them at every start-up. */

export const TOKENIZERS = ['llama2', 'cl100k', 'qwen2.5'] as const;
export type TokenizerName = (typeof TOKENIZERS)[number];
