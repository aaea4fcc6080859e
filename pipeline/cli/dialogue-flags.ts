/** Flag parsers of dialogue mode. */
import { InvalidArgumentError } from 'commander';
import type { TurnBounds } from '../index.ts';

/** Most exchanges a conversation may be asked for: longer ones rarely fit one reply. */
export const MAX_EXCHANGES = 20;

/** `--turns 2-4` or `--turns 3` (exactly 3), in exchanges, 1..20, min ≤ max. */
export function turnBounds(value: string): TurnBounds {
  const m = /^\s*(\d{1,2})\s*(?:-\s*(\d{1,2}))?\s*$/.exec(value);
  const min = m === null ? NaN : Number(m[1]);
  const max = m === null ? NaN : Number(m[2] ?? m[1]);
  if (!(min >= 1 && max <= MAX_EXCHANGES && min <= max)) {
    throw new InvalidArgumentError(`expected MIN-MAX exchanges with 1 ≤ MIN ≤ MAX ≤ ${MAX_EXCHANGES}, e.g. 2-4, got "${value}"`);
  }
  return { min, max };
}
