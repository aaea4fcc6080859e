/**
 * The train/valid split (pure): a row's side depends only on its key, so it never moves between train
 * and valid across exports, and a larger ratio only moves rows from train to valid.
 */
import crypto from 'node:crypto';

export type Split = 'train' | 'valid';

/** The key's place in [0, 1): the first 32 bits of sha256(key), over 2^32. */
export function splitPoint(key: string): number {
  return crypto.createHash('sha256').update(key).digest().readUInt32BE(0) / 2 ** 32;
}

/** `valid` when the key's point is below `ratio`. */
export function splitOf(key: string, ratio: number): Split {
  return ratio > 0 && splitPoint(key) < ratio ? 'valid' : 'train';
}
