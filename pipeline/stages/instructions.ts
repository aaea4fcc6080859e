/**
 * The instruction stage: a prompt of seed and machine examples asks for N new tasks (whole tasks, or
 * instructions only for stage 1 of a two-stage run, or whole conversations in the dialogue mode); the
 * reply is read leniently and every item goes through the rules and the near-duplicate index.
 */
import type { DialogueIngestor } from '../dialogue/ingest.ts';
import { parseDialogues } from '../dialogue/parse.ts';
import type { Ingestor } from '../ingest.ts';
import type { MachineExamples } from '../judge/examples.ts';
import type { ChatMessage, ChatParams } from '../llm.ts';
import type { Price } from '../llm/cost.ts';
import { parseReply, type ParseResult } from '../parse.ts';
import { buildPrompt, type GenerationMode, type Random } from '../prompt.ts';
import type { Template } from '../templates.ts';
import type { RunView, Stage, StageOutcome, StageRequest } from './stage.ts';
import type { SeedTask, Task } from '../types.ts';
import type { TurnBounds } from '../dialogue/types.ts';

export interface PromptSetup {
  mode: GenerationMode;
  template: Template;
  /** Tasks asked for per request. */
  tasksPerRequest: number;
  /** Output length bound stated in the prompt, in characters. */
  maxOutputChars: number;
  seeds: readonly SeedTask[];
  topics: readonly string[];
  taskTypes: readonly string[];
  turns?: TurnBounds | undefined;
}

/**
 * One request's messages: a prompt showing two machine examples drawn from `machinePool` (none while it
 * is empty). `instructionOnly`: stage 1 of two-stage generation (examples without outputs, no output cap).
 */
export function promptMessages(options: PromptSetup, machinePool: readonly Task[], random: Random, instructionOnly = false): ChatMessage[] {
  // Dialogue mode draws one opening per conversation, so it may use as many machine examples.
  const shown = options.mode === 'dialogue' ? options.tasksPerRequest : 2;
  const machineExamples =
    machinePool.length > 0 ? Array.from({ length: shown }, () => machinePool[Math.floor(random() * machinePool.length)]!) : [];
  const prompt = buildPrompt({
    mode: options.mode,
    template: options.template,
    numTasks: options.tasksPerRequest,
    maxOutputChars: instructionOnly ? 0 : options.maxOutputChars,
    seeds: options.seeds,
    machineExamples,
    topics: options.topics,
    taskTypes: options.taskTypes,
    random,
    ...(options.turns ? { turns: options.turns } : {}),
    ...(instructionOnly && { instructionOnly }),
  });
  return [{ role: 'user', content: prompt }];
}

/** How many items the run still wants from this stage: whether to ask now, and how many a reply may add. */
export interface Demand {
  ask(view: RunView, expectedPerRequest: number): boolean;
  maxAccept(view: RunView): number;
}

/** One-stage runs: the stage's own accepted tasks are the goal. */
export const goalDemand: Demand = {
  // Fewer requests in flight as the target nears: each one is expected to bring `expectedPerRequest`.
  ask: (view, expected) => view.idle || view.inFlight(INSTRUCTIONS) < requestsFor(view, view.target - view.goalAccepted, expected),
  maxAccept: (view) => view.target - view.goalAccepted,
};

/** Over-asking, requests are sized with this margin (and one more) against near-duplicates and failures. */
const OVER_ASK_MARGIN = 1.15;

/** Requests that bring `missing` items at `expected` accepted items per request (with the margin when over-asking). */
export function requestsFor(view: RunView, missing: number, expected: number): number {
  const perRequest = Math.max(view.overAsk ? 0.05 : 1, expected);
  if (view.overAsk) return missing > 0 ? Math.ceil((missing / perRequest) * OVER_ASK_MARGIN) + 1 : 0;
  return Math.max(1, Math.ceil(missing / perRequest));
}

export const INSTRUCTIONS = 'instructions';

/** Fewest items a shortened last request asks for; and its margin over what is expected to be missing. */
const MIN_ASKED = 3;
const LAST_REQUEST_MARGIN = 1.3;

export interface InstructionStageOptions extends PromptSetup {
  params: ChatParams;
  price?: Price | undefined;
  templateId: number;
  runId: number;
  /** Stage 1 of a two-stage run: instructions only. */
  instructionOnly?: boolean;
  /** Feeder of a two-stage run, or the goal itself. */
  role: 'goal' | 'feeder';
  demand: Demand;
}

interface Unit {
  readonly requested: number;
}

/** Tasks (or conversations, each as its first exchange) a reply brought, with what the reader saw. */
type Parsed = { kind: 'tasks'; result: ParseResult } | { kind: 'dialogues'; result: ReturnType<typeof parseDialogues> };

export class InstructionStage implements Stage<Unit, Parsed> {
  readonly name = INSTRUCTIONS;
  readonly role: 'goal' | 'feeder';
  readonly templateId: number;
  readonly price: Price | undefined;
  readonly guarded = true;
  /** Running estimate of the share of asked items accepted, so the last requests are not sent for nothing. */
  private share: number;

  constructor(
    private readonly o: InstructionStageOptions,
    /** `tasks`: where tasks (or instructions, or a conversation's openings) go; `dialogues`: whole conversations. */
    private readonly sink: { tasks: Pick<Ingestor, 'ingest'>; dialogues?: DialogueIngestor | undefined },
    private readonly examples: MachineExamples,
    private readonly random: Random,
    /** Prior share of asked items accepted: whole tasks lose more to the rules than instructions alone. */
    priorShare: number,
  ) {
    this.role = o.role;
    this.templateId = o.templateId;
    this.price = o.price;
    this.share = priorShare;
  }

  /** Accepted items a full request is expected to bring, as seen so far. */
  private get expected(): number {
    return this.share * this.o.tasksPerRequest;
  }

  next(view: RunView): StageRequest<Unit> | undefined {
    if (!this.o.demand.ask(view, this.expected)) return undefined;
    const requested = this.askFor(view);
    const messages = promptMessages(
      { ...this.o, tasksPerRequest: requested },
      this.examples.pool,
      this.random,
      this.o.instructionOnly ?? false,
    );
    return { unit: { requested }, messages, params: this.o.params };
  }

  /**
   * Items to ask for: `tasksPerRequest`, except for the last requests of a run whose goal is this stage's
   * own items, which ask for what is still missing at the share of asked items accepted so far (with a
   * margin), so a small run does not pay for tasks it must turn away as `target_reached`.
   */
  private askFor(view: RunView): number {
    const full = this.o.tasksPerRequest;
    // Over-asking, the margin is in whole requests: every one asks for the full count.
    if (this.role !== 'goal' || view.overAsk) return full;
    const share = Math.max(0.05, this.share);
    const coming = view.inFlight(INSTRUCTIONS) * this.expected;
    const missing = view.target - view.goalAccepted - coming;
    if (missing <= 0) return Math.min(full, MIN_ASKED);
    return Math.max(Math.min(full, MIN_ASKED), Math.min(full, Math.ceil((missing / share) * LAST_REQUEST_MARGIN)));
  }

  read(_unit: Unit, reply: { content: string; finishReason: string | null }) {
    if (this.sink.dialogues !== undefined) {
      const result = parseDialogues(reply.content, reply.finishReason);
      return { shape: result.shape, problems: result.problems, value: { kind: 'dialogues', result } as Parsed };
    }
    const result = parseReplySafely(reply.content, reply.finishReason);
    return { shape: result.shape, problems: result.problems, value: { kind: 'tasks', result } as Parsed };
  }

  store(_unit: Unit, requestId: number, parsed: Parsed, _reply: unknown, view: RunView): StageOutcome & { tasks: Task[] } {
    const maxAccept = Math.max(0, this.o.demand.maxAccept(view));
    if (parsed.kind === 'dialogues') {
      const r = this.sink.dialogues!.ingest({ runId: this.o.runId, requestId, dialogues: parsed.result.dialogues, maxAccept });
      // Each accepted conversation counts as one item; its first exchange is what later prompts open from.
      const tasks = r.accepted.map((turns) => ({ instruction: turns[0]!.content, input: '', output: turns[1]!.content }));
      return { accepted: tasks.length, rejected: r.rejected, parseProblems: parsed.result.problems, tasks };
    }
    const r = this.sink.tasks.ingest({ source: 'generated', runId: this.o.runId, requestId, tasks: parsed.result.tasks, maxAccept });
    return {
      accepted: r.accepted.length,
      rejected: r.rejected as Record<string, number>,
      parseProblems: parsed.result.problems,
      tasks: r.accepted,
    };
  }

  release(): undefined {
    return undefined;
  }

  estimates(): Record<string, number> {
    return { yieldPerRequest: this.expected };
  }

  afterStore(unit: Unit, outcome: StageOutcome & { tasks?: Task[] }): void {
    this.examples.offer(outcome.tasks ?? []);
    // A reply turned short by the target (`target_reached`) says nothing against the model: count those as good.
    const good = outcome.accepted + (outcome.rejected.target_reached ?? 0);
    this.share = 0.8 * this.share + 0.2 * Math.min(1, good / Math.max(1, unit.requested));
  }
}

/** parseReply is total; should a bug ever make it throw, the reply is still stored, with the error as its problem. */
function parseReplySafely(content: string, finishReason: string | null): ParseResult {
  try {
    return parseReply(content, finishReason);
  } catch (err) {
    return { tasks: [], shape: 'none', problems: [`parser error: ${String(err).slice(0, 200)}`], droppedTruncated: 0 };
  }
}
