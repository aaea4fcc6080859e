/**
 * A near-duplicate index answers one question: is this key at least `threshold` similar to any key
 * already added, and if so, which one is nearest? Implementations must give exactly the decisions of
 * brute force under `similarity()`.
 */
export interface NearestMatch {
  /** Caller-supplied id of the nearest key already in the index. */
  id: number;
  similarity: number;
}

export interface NearDupIndex {
  readonly size: number;
  /** Adds a key under an id (ids are the caller's; duplicates of keys are allowed). */
  add(key: string, id: number): void;
  /**
   * The nearest key with similarity ≥ threshold, or undefined when there is none. Ties on similarity
   * go to the key added first.
   */
  findNearDuplicate(key: string, threshold: number): NearestMatch | undefined;
}
