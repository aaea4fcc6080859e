/** Flag value parsers: each rejects bad input with a message commander prints as one line. */
import { InvalidArgumentError } from 'commander';
import { parsePriceFlag, type Price } from '../index.ts';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  }
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected an integer ≥ 0, got "${value}"`);
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number ≥ 0, got "${value}"`);
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number > 0, got "${value}"`);
  return n;
}

/** A number within [min, max]. */
export function numberIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${value}"`);
    }
    return value as T;
  };
}

/** `--price 0.15,0.60`: input and output USD per 1M tokens. */
export function priceFlag(value: string): Price {
  try {
    return parsePriceFlag(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** `--since` of the commands that work through stored tasks: all, last (the last generation run) or a run id. */
export function sinceFlag(value: string): 'all' | 'last' | number {
  if (value === 'all' || value === 'last') return value;
  if (/^\d+$/.test(value) && Number(value) >= 1) return Number(value);
  throw new InvalidArgumentError(`expected all, last or a run id, got "${value}"`);
}
