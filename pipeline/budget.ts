/**
 * A run's spending caps (--max-cost, --max-requests). Requests in flight count at their worst case
 * (prompt estimate + max_tokens at the model's price) until they settle, so the run never goes past the
 * cap however many requests run at once. Counts cover the whole run, across invocations.
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

  /** Undefined when a request of this worst-case cost may start now; else why not. */
  check(worstCaseUsd: number): BudgetStop | undefined {
    const { maxRequests, maxCostUsd } = this.limits;
    if (maxRequests !== undefined && this.sent + this.inFlightCount + 1 > maxRequests) {
      return {
        reason: 'max-requests',
        message: `reached \`maxRequests\` ${maxRequests}: the run has sent ${this.sent + this.inFlightCount} requests`,
      };
    }
    if (maxCostUsd !== undefined && this.spent + this.reservedUsd + worstCaseUsd > maxCostUsd) {
      return {
        reason: 'max-cost',
        message:
          `reached \`maxCost\` $${maxCostUsd}: the run has spent $${this.spent.toFixed(4)}` +
          (this.reservedUsd > 0 ? ` with up to $${this.reservedUsd.toFixed(4)} in flight` : '') +
          `, and the next request could cost up to $${worstCaseUsd.toFixed(4)}`,
      };
    }
    return undefined;
  }

  /** Counts a request as started; returns the function that settles it with its real cost. */
  start(worstCaseUsd: number): (actualUsd: number) => void {
    this.inFlightCount++;
    this.reservedUsd += worstCaseUsd;
    let done = false;
    return (actualUsd) => {
      if (done) return;
      done = true;
      this.inFlightCount--;
      this.reservedUsd -= worstCaseUsd;
      this.sent++;
      this.spent += actualUsd;
    };
  }
}
