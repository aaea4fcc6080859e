/**
 * The yield guard: a run must not keep paying for replies that bring nothing. Pure: it is told what
 * each reply gave and says when to stop, and why, in one line.
 *
 * - Empty replies: a reply with no usable task (nothing parsed, or every task rejected by a quality
 *   filter). Near-duplicates do not make a reply empty: they mean the data is saturating, not that the
 *   model or the prompt is broken. `maxEmptyReplies` empty replies in a row stop the run.
 * - Acceptance floor: over the last `window` replies, fewer than `minAcceptedPerReply` accepted tasks
 *   per reply stop the run. When nearly all of those replies' tasks were near-duplicates, the message
 *   says the run is saturated instead, and what to change.
 */
import type { ReplyOutcome } from './store/reply-outcomes.ts';

export type { ReplyOutcome };

export interface YieldGuardOptions {
  /** Empty replies in a row that stop the run; 0 turns this guard off. Default 20. */
  maxEmptyReplies?: number | undefined;
  /** Accepted tasks per reply, over the window, under which the run stops; 0 turns it off. Default 0.1. */
  minAcceptedPerReply?: number | undefined;
  /** Replies the acceptance floor looks back over. Default 50. */
  window?: number | undefined;
  /** Share of the window's tasks that are near-duplicates from which a low yield counts as saturation. Default 0.8. */
  saturationShare?: number | undefined;
  /** The near-duplicate threshold, quoted in the saturation message. */
  similarity?: number | undefined;
}

export const DEFAULT_MAX_EMPTY_REPLIES = 20;
export const DEFAULT_MIN_ACCEPTED_PER_REPLY = 0.1;
export const DEFAULT_GUARD_WINDOW = 50;
const DEFAULT_SATURATION_SHARE = 0.8;

export type GuardName = 'empty-replies' | 'acceptance-floor' | 'saturation';

export interface GuardStop {
  guard: GuardName;
  message: string;
}

/** The guard's figures, for the JSON log and the summary. */
export interface YieldGuardState {
  replies: number;
  emptyStreak: number;
  maxEmptyReplies: number;
  window: { replies: number; accepted: number; tasks: number; nearDuplicates: number };
  minAcceptedPerReply: number;
  stop?: GuardStop;
}

interface Entry {
  accepted: number;
  tasks: number;
  nearDuplicates: number;
  rejected: Partial<Record<string, number>>;
}

export class YieldGuard {
  private readonly maxEmpty: number;
  private readonly floor: number;
  private readonly size: number;
  private readonly saturation: number;
  private readonly similarity: number | undefined;
  private readonly recent: Entry[] = [];
  private replies = 0;
  private emptyStreak = 0;
  private stopped: GuardStop | undefined;

  constructor(options: YieldGuardOptions = {}) {
    this.maxEmpty = options.maxEmptyReplies ?? DEFAULT_MAX_EMPTY_REPLIES;
    this.floor = options.minAcceptedPerReply ?? DEFAULT_MIN_ACCEPTED_PER_REPLY;
    this.size = Math.max(1, options.window ?? DEFAULT_GUARD_WINDOW);
    this.saturation = options.saturationShare ?? DEFAULT_SATURATION_SHARE;
    this.similarity = options.similarity;
  }

  /**
   * Counts a reply; returns the reason to stop the first time a guard trips (and keeps it). A primed
   * reply (one stored by an earlier invocation) counts but never trips a guard by itself, so a rerun
   * after a fix gets to send its requests.
   */
  record(reply: ReplyOutcome, primed = false): GuardStop | undefined {
    const rejected = Object.values(reply.rejected).reduce<number>((a, b) => a + (b ?? 0), 0);
    const nearDuplicates = reply.rejected.near_duplicate ?? 0;
    const entry: Entry = { accepted: reply.accepted, tasks: reply.accepted + rejected, nearDuplicates, rejected: reply.rejected };
    this.replies++;
    // Once stopped, the window stays the one the stop message quotes: replies still in flight at the
    // stop are counted, but do not move the window the summary shows next to that message.
    if (this.stopped !== undefined) return undefined;
    this.recent.push(entry);
    if (this.recent.length > this.size) this.recent.shift();
    // target_reached: good tasks the run no longer needed; not a sign of anything.
    const empty = reply.accepted === 0 && nearDuplicates === 0 && (reply.rejected.target_reached ?? 0) === 0;
    this.emptyStreak = empty ? this.emptyStreak + 1 : 0;
    if (primed) return undefined;

    if (this.maxEmpty > 0 && this.emptyStreak >= this.maxEmpty) {
      this.stopped = { guard: 'empty-replies', message: this.emptyMessage(reply, entry) };
      return this.stopped;
    }
    if (this.floor > 0 && this.recent.length >= this.size) {
      const w = this.windowTotals();
      if (w.accepted < this.floor * w.replies) this.stopped = this.floorStop(w);
    }
    return this.stopped;
  }

  get stop(): GuardStop | undefined {
    return this.stopped;
  }

  state(): YieldGuardState {
    const s: YieldGuardState = {
      replies: this.replies,
      emptyStreak: this.emptyStreak,
      maxEmptyReplies: this.maxEmpty,
      window: this.windowTotals(),
      minAcceptedPerReply: this.floor,
    };
    if (this.stopped !== undefined) s.stop = this.stopped;
    return s;
  }

  private windowTotals(): YieldGuardState['window'] {
    let accepted = 0;
    let tasks = 0;
    let nearDuplicates = 0;
    for (const e of this.recent) {
      accepted += e.accepted;
      tasks += e.tasks;
      nearDuplicates += e.nearDuplicates;
    }
    return { replies: this.recent.length, accepted, tasks, nearDuplicates };
  }

  private emptyMessage(reply: ReplyOutcome, entry: Entry): string {
    const why =
      entry.tasks === 0
        ? `no task could be read from it${reply.parseProblems?.[0] ? ` (${reply.parseProblems[0]})` : ''}`
        : `all ${entry.tasks} of its tasks were rejected (${topReasons(entry.rejected)})`;
    return (
      `${this.emptyStreak} replies in a row gave no usable task; the last one, ${quote(reply.content)}: ${why}. ` +
      'Check the model (`model`, OPENAI_BASE_URL), the prompt template (`promptTemplate`) and `mode`'
    );
  }

  private floorStop(w: YieldGuardState['window']): GuardStop {
    const perReply = `${w.accepted} accepted task(s) in the last ${w.replies} replies, under the floor of ${this.floor} per reply`;
    if (w.tasks > 0 && w.nearDuplicates >= this.saturation * w.tasks) {
      const threshold = this.similarity === undefined ? 'a higher `similarity`' : `a \`similarity\` above ${this.similarity}`;
      return {
        guard: 'saturation',
        message:
          `saturated: ${w.nearDuplicates} of the ${w.tasks} tasks in the last ${w.replies} replies were near-duplicates (${perReply}). ` +
          `Try \`mode\` topics, new seeds (\`seeds\`) or ${threshold}`,
      };
    }
    const reasons: Record<string, number> = {};
    for (const e of this.recent) for (const [r, n] of Object.entries(e.rejected)) reasons[r] = (reasons[r] ?? 0) + (n ?? 0);
    return {
      guard: 'acceptance-floor',
      message:
        `acceptance too low: ${perReply}${w.tasks > w.accepted ? `; rejected mostly as ${topReasons(reasons)}` : ''}. ` +
        'Check the model, the prompt template (`promptTemplate`) and `mode`, or lower `minAcceptRate`',
    };
  }
}

function topReasons(rejected: Partial<Record<string, number>>): string {
  return Object.entries(rejected)
    .filter(([, n]) => (n ?? 0) > 0)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
    .slice(0, 3)
    .map(([reason, n]) => `${reason} ×${n}`)
    .join(', ');
}

/** The reply's first 80 characters, on one line (JSON string escapes). */
export function quote(content: string): string {
  const head = [...content.slice(0, 160)].slice(0, 80).join('');
  return `${JSON.stringify(head)}${content.length > head.length ? '…' : ''}`;
}
