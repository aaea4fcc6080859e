/**
 * The Chinese segmenter behind the report and the dataset card: @node-rs/jieba (jieba-rs through N-API, prebuilt binaries,
 * its own dictionary, POS tags). Not nodejieba (compiles C++ when no prebuilt binary fits), not
 * Intl.Segmenter (no part of speech); jieba-wasm (the same engine as WebAssembly) would be the fallback.
 * Loaded on first use: the dictionary costs ~0.2 s.
 */
import type { TaggedWord } from './instructions.ts';

export interface Segmenter {
  /** Words of `text` with their part-of-speech tags (HMM on, for words not in the dictionary). */
  tag(text: string): TaggedWord[];
}

let loaded: Promise<Segmenter> | undefined;

export function loadSegmenter(): Promise<Segmenter> {
  loaded ??= (async () => {
    const { Jieba } = await import('@node-rs/jieba');
    const { dict } = await import('@node-rs/jieba/dict.js');
    const jieba = Jieba.withDict(dict);
    return { tag: (text: string) => jieba.tag(text, true).map((w) => ({ word: w.word, tag: w.tag })) };
  })();
  return loaded;
}

/** The leading words are all the verb analysis needs: tag only the head of a long instruction. */
export const HEAD_CHARS = 40;
