/**
 * A run's spending caps (--max-cost, --max-requests). Requests in flight count at their worst case
 * (prompt estimate + max_tokens at the model's price) until they settle, so the run never goes past the
 * cap however many requests run at once. Counts cover the whole run, across invocations.
 *
 * A server may ignore max_tokens (or count the prompt higher than our estimate): a reply then costs more
 * than its worst case. It is counted at its real cost as soon as it settles, and from then on every
 * worst case is scaled by the largest overrun seen (actual / worst case), before anything more is sent.
 * The exact bound: the cap can be passed only by replies that cost more than their scaled worst case,
 * i.e. by the requests already in flight when an overrun larger than any before it is first seen (at
 * most the run's concurrency), each by its own excess. A server that honours max_tokens never passes it.
 */

export interface BudgetLimits {
  /** USD for the whole run. */
  maxCostUsd?: number | undefined;
  /** Requests (not attempts) for the whole run. */
  maxRequests?: number | undefined;
}

export interface BudgetStop {
  reason: 'max-cost' | 'max-requests';
  message: string;
}

export class Budget {
  private spent: number;
  private sent: number;
  private reservedUsd = 0;
  private inFlightCount = 0;
  /** Largest actual / worst-case cost seen (≥ 1): worst cases are scaled by it. */
  private overrun = 1;

  constructor(
    private readonly limits: BudgetLimits,
    /** Already spent and sent by the run (earlier invocations). */
    start: { costUsd: number; requests: number } = { costUsd: 0, requests: 0 },
  ) {
    this.spent = start.costUsd;
    this.sent = start.requests;
  }

  /** The budget of a run that has already spent and sent what `totals` (its `runTotals().requests`) say. */
  static forRun(limits: BudgetLimits, totals: { costUsd: number; total: number }): Budget {
    return new Budget(
      { maxCostUsd: limits.maxCostUsd, maxRequests: limits.maxRequests },
      { costUsd: totals.costUsd, requests: totals.total },
    );
  }

  get spentUsd(): number {
    return this.spent;
  }

  /** Requests started and not yet settled. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** How much the server has overrun worst cases by (1 while it never has). */
  get overrunFactor(): number {
    return this.overrun;
  }

  /** Undefined when a request of this worst-case cost may start now; else why not. */
  check(worstCaseUsd: number): BudgetStop | undefined {
    const { maxRequests, maxCostUsd } = this.limits;
    const worst = worstCaseUsd * this.overrun;
    if (maxRequests !== undefined && this.sent + this.inFlightCount + 1 > maxRequests) {
      return {
        reason: 'max-requests',
        message: `reached \`maxRequests\` ${maxRequests}: the run has sent ${this.sent + this.inFlightCount} requests`,
      };
    }
    if (maxCostUsd !== undefined && this.spent + this.reservedUsd + worst > maxCostUsd) {
      return {
        reason: 'max-cost',
        message:
          `reached \`maxCost\` $${maxCostUsd}: the run has spent $${this.spent.toFixed(4)}` +
          (this.reservedUsd > 0 ? ` with up to $${this.reservedUsd.toFixed(4)} in flight` : '') +
          `, and the next request could cost up to $${worst.toFixed(4)}` +
          (this.overrun > 1 ? ` (its worst case × ${this.overrun.toFixed(2)}: the server has replied past max_tokens)` : ''),
      };
    }
    return undefined;
  }

  /** Counts a request as started; returns the function that settles it with its real cost. */
  start(worstCaseUsd: number): (actualUsd: number) => void {
    const reserved = worstCaseUsd * this.overrun;
    this.inFlightCount++;
    this.reservedUsd += reserved;
    let done = false;
    return (actualUsd) => {
      if (done) return;
      done = true;
      this.inFlightCount--;
      this.reservedUsd -= reserved;
      this.sent++;
      this.spent += actualUsd;
      if (worstCaseUsd > 0 && actualUsd > worstCaseUsd) this.overrun = Math.max(this.overrun, actualUsd / worstCaseUsd);
    };
  }
}
