/** Multi-turn conversations: the shapes shared by parsing, checks, storage and export. */

export type { Role, Turn } from '../types.ts';

/** Exchanges allowed per conversation (one exchange = a user turn and the assistant's reply). */
export interface TurnBounds {
  min: number;
  max: number;
}

export const DEFAULT_TURN_BOUNDS: TurnBounds = { min: 2, max: 4 };
