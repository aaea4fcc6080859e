/** How a request that failed every attempt affects a run: shared by both stages of a two-stage run. */
import { LlmError } from '../llm.ts';

export interface FailureState {
  consecutive: number;
}

/** The error to end the run with, if this failure ends it; aborted requests do not count. */
export function fatalFrom(error: LlmError, state: FailureState, maxConsecutive: number): Error | undefined {
  if (error.kind === 'aborted') return undefined;
  state.consecutive++;
  if (error.kind === 'auth') return new Error(`the model API refused the key: ${error.message}`);
  if (error.kind === 'quota') return new Error(`the model API says the account is out of quota: ${error.message}`);
  if (state.consecutive >= maxConsecutive) {
    return new Error(`${state.consecutive} requests in a row failed; last error: ${error.kind}: ${error.message}`);
  }
  return undefined;
}

export function asLlmError(err: unknown): LlmError {
  return err instanceof LlmError ? err : new LlmError(String(err), 'other', undefined, 1);
}
