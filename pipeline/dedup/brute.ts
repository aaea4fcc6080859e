import type { NearDupIndex, NearestMatch } from './index.ts';
import { similarity } from './similarity.ts';

/** Compares with every key: O(N) per query. The reference the fast index is tested against. */
export class BruteForceIndex implements NearDupIndex {
  private readonly keys: string[] = [];
  private readonly ids: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  add(key: string, id: number): void {
    this.keys.push(key);
    this.ids.push(id);
  }

  findNearDuplicate(key: string, threshold: number): NearestMatch | undefined {
    let best: NearestMatch | undefined;
    for (let i = 0; i < this.keys.length; i++) {
      const s = similarity(key, this.keys[i]!);
      if (s >= threshold && (best === undefined || s > best.similarity)) best = { id: this.ids[i]!, similarity: s };
    }
    return best;
  }
}
