/**
 * SQL of the `evolutions` table (migration 11): which tasks are due to evolve in which round, the lineage
 * of evolved tasks, and their figures for `stats`.
 *
 * A task's round in the pool: a task never evolved is due in the round after its own (0 for a task that
 * was not evolved, its evolution's round for an evolved one); a task whose last evolution failed is due in
 * the next round; a task with an accepted child is done (the child carries the lineage on). Only tasks
 * with an answer (an output, or an accepted answer) evolve: an evolution is compared with that answer,
 * and an evolved task nobody could answer is no parent.
 */
import type { Store } from './store.ts';

/** Which roots evolve: a run's tasks (`last`: the last generation run) and a minimum judge score. */
export interface EvolveSelection {
  since: 'all' | 'last' | number;
  /** Roots need a judgment at least this (their latest); evolved parents, once judged, too. */
  minScore?: number | undefined;
  /** Rounds 1..rounds. */
  rounds: number;
}

export interface EvolveParentRow {
  taskId: number;
  rootId: number;
  round: number;
  instruction: string;
  input: string;
  answer: string;
}

export interface NewEvolution {
  parentTaskId: number;
  rootTaskId: number;
  round: number;
  operation: string;
  childTaskId: number;
  status: 'accepted' | 'rejected';
  reason: string | null;
  runId: number;
  requestId: number;
}

export interface EvolutionStats {
  /** Accepted evolved tasks. */
  total: number;
  byRound: Record<string, number>;
  byOperation: Record<string, number>;
  /** Failed evolutions by reason (the evolve checks, the rules, near duplicates). */
  eliminated: Record<string, number>;
}

export interface Lineage {
  parentTaskId: number;
  rootTaskId: number;
  round: number;
  operation: string;
}

const now = (): string => new Date().toISOString();

/** Runs whose tasks are roots: not a judge's, not an evolve's. */
const LAST_GENERATION_RUN = `(SELECT id FROM runs WHERE mode NOT IN ('judge', 'evolve') ORDER BY id DESC LIMIT 1)`;

/** An evolved task awaiting the check model, beside its parent. */
export interface UncheckedChild {
  taskId: number;
  instruction: string;
  input: string;
  parentInstruction: string;
  parentInput: string;
}

export class EvolutionStore {
  constructor(private readonly store: Store) {}

  private sql(text: string) {
    return this.store.sql(text);
  }

  /** The pool as a query: each due task once, with the round it is due in (see the module comment). */
  private poolSql(selection: EvolveSelection): { text: string; params: Record<string, unknown> } {
    const params: Record<string, unknown> = { rounds: selection.rounds };
    const rootWhere: string[] = [];
    if (selection.since === 'last') rootWhere.push(`r.run_id = ${LAST_GENERATION_RUN}`);
    else if (typeof selection.since === 'number') {
      rootWhere.push('r.run_id = @run');
      params['run'] = selection.since;
    }
    let scoreWhere = '';
    if (selection.minScore !== undefined) {
      params['minScore'] = selection.minScore;
      const latest = (id: string) => `(SELECT j.score FROM judgments j WHERE j.task_id = ${id} ORDER BY j.id DESC LIMIT 1)`;
      // Roots must be judged well; an evolved parent only when it has been judged.
      scoreWhere = `AND ${latest('r.id')} >= @minScore AND (own.id IS NULL OR coalesce(${latest('t.id')}, @minScore) >= @minScore)`;
    }
    const text = `
      SELECT * FROM (
        SELECT t.id AS taskId, coalesce(own.root_task_id, t.id) AS rootId, t.instruction, t.input,
          CASE WHEN t.output <> '' THEN t.output
               ELSE (SELECT a.output FROM answers a WHERE a.task_id = t.id AND a.status = 'accepted' ORDER BY a.id LIMIT 1) END AS answer,
          CASE
            WHEN last.round IS NULL THEN coalesce(own.round, 0) + 1
            WHEN last.status = 'rejected' THEN last.round + 1
          END AS round
        FROM tasks t
        LEFT JOIN evolutions own ON own.child_task_id = t.id
        LEFT JOIN evolutions last ON last.parent_task_id = t.id
          AND last.round = (SELECT max(e.round) FROM evolutions e WHERE e.parent_task_id = t.id)
        JOIN tasks r ON r.id = coalesce(own.root_task_id, t.id)
        WHERE t.status = 'accepted' AND t.source <> 'seed' AND t.kind = 'task'
          AND (t.source <> 'evolved' OR own.status = 'accepted')
          ${rootWhere.map((w) => `AND ${w}`).join(' ')} ${scoreWhere}
          AND t.id > @after
      ) WHERE round IS NOT NULL AND round <= @rounds AND answer IS NOT NULL AND answer <> ''`;
    return { text, params };
  }

  /** Up to `limit` due parents with ids above `after`, by id (roots before their children), skipping `exclude`. */
  nextParents(selection: EvolveSelection, after: number, limit: number, exclude: ReadonlySet<number>): EvolveParentRow[] {
    const { text, params } = this.poolSql(selection);
    const rows = this.sql(`${text} ORDER BY taskId LIMIT @limit`).all({
      ...params,
      after,
      limit: limit + exclude.size,
    }) as EvolveParentRow[];
    return rows.filter((r) => !exclude.has(r.taskId)).slice(0, limit);
  }

  /** Due parents by round (in flight included). */
  countDue(selection: EvolveSelection): Record<string, number> {
    const { text, params } = this.poolSql(selection);
    const rows = this.sql(`SELECT round, count(*) AS n FROM (${text}) GROUP BY round ORDER BY round`).all({ ...params, after: 0 }) as {
      round: number;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [String(r.round), r.n]));
  }

  /** The task row the evolve request `requestId` stored (one per request): its id and verdict. */
  childOf(requestId: number): { id: number; status: 'accepted' | 'rejected'; reason: string | null } | undefined {
    return this.sql(`SELECT id, status, reason FROM tasks WHERE request_id = ? ORDER BY id DESC LIMIT 1`).get(requestId) as
      | { id: number; status: 'accepted' | 'rejected'; reason: string | null }
      | undefined;
  }

  /** Stores an evolution; a second one of the same parent in the same round violates the unique index. */
  insert(e: NewEvolution): number {
    const info = this.sql(
      `INSERT INTO evolutions (parent_task_id, root_task_id, round, operation, child_task_id, status, reason, run_id, request_id, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(e.parentTaskId, e.rootTaskId, e.round, e.operation, e.childTaskId, e.status, e.reason, e.runId, e.requestId, now());
    return Number(info.lastInsertRowid);
  }

  /**
   * Evolved tasks (accepted, not yet answered) that no model has checked, with ids above `after`, by id,
   * skipping `exclude` (in flight), each with its parent's instruction: the work of evolve --check-model.
   */
  uncheckedChildren(after: number, limit: number, exclude: ReadonlySet<number>): UncheckedChild[] {
    const rows = this.sql(
      `SELECT c.id AS taskId, c.instruction, c.input, p.instruction AS parentInstruction, p.input AS parentInput
       FROM evolutions e JOIN tasks c ON c.id = e.child_task_id JOIN tasks p ON p.id = e.parent_task_id
       WHERE e.status = 'accepted' AND c.status = 'accepted' AND c.id > @after
         AND NOT EXISTS (SELECT 1 FROM evolve_checks k WHERE k.task_id = c.id)
         AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.task_id = c.id AND a.status = 'accepted')
       ORDER BY c.id LIMIT @limit`,
    ).all({ after, limit: limit + exclude.size }) as UncheckedChild[];
    return rows.filter((r) => !exclude.has(r.taskId)).slice(0, limit);
  }

  /**
   * A check's verdict; one that finds nothing added rejects the evolved task and its evolution
   * (`evolve_no_gain`), so its parent is due again in the next round. Inside the caller's transaction.
   */
  insertCheck(taskId: number, model: string, adds: boolean, requestId: number, detail: string): void {
    this.sql('INSERT OR IGNORE INTO evolve_checks (task_id, model, adds, request_id, created_at) VALUES (?, ?, ?, ?, ?)').run(
      taskId,
      model,
      adds ? 1 : 0,
      requestId,
      now(),
    );
    if (adds) return;
    this.sql(`UPDATE tasks SET status = 'rejected', reason = 'evolve_no_gain', detail = ? WHERE id = ? AND status = 'accepted'`).run(
      detail,
      taskId,
    );
    this.sql(`UPDATE evolutions SET status = 'rejected', reason = 'evolve_no_gain' WHERE child_task_id = ?`).run(taskId);
  }

  /** Where an evolved task comes from. */
  lineage(taskId: number): Lineage | undefined {
    return this.sql(
      `SELECT parent_task_id AS parentTaskId, root_task_id AS rootTaskId, round, operation FROM evolutions WHERE child_task_id = ?`,
    ).get(taskId) as Lineage | undefined;
  }

  /** Accepted evolutions of a run (every invocation). */
  countAccepted(runId: number): number {
    return this.sql(`SELECT count(*) FROM evolutions WHERE run_id = ? AND status = 'accepted'`).pluck().get(runId) as number;
  }

  stats(): EvolutionStats {
    const total = this.sql(`SELECT count(*) FROM evolutions WHERE status = 'accepted'`).pluck().get() as number;
    const tally = (column: string, where: string): Record<string, number> => {
      const rows = this.sql(
        `SELECT ${column} AS k, count(*) AS n FROM evolutions WHERE ${where} GROUP BY ${column} ORDER BY ${column}`,
      ).all() as {
        k: string | number;
        n: number;
      }[];
      return Object.fromEntries(rows.map((r) => [String(r.k), r.n]));
    };
    return {
      total,
      byRound: tally('round', `status = 'accepted'`),
      byOperation: tally('operation', `status = 'accepted'`),
      eliminated: tally('reason', `status = 'rejected'`),
    };
  }

  /** Instructions of accepted evolved tasks (round ≥ 1) and of the roots they grew from (round 0), for the report. */
  instructionsByRound(limitPerRound: number): { round: number; instruction: string }[] {
    return this.sql(
      `SELECT 0 AS round, instruction FROM (SELECT DISTINCT t.id, t.instruction FROM evolutions e JOIN tasks t ON t.id = e.root_task_id LIMIT @limit)
       UNION ALL
       SELECT round, instruction FROM (
         SELECT e.round, t.instruction, row_number() OVER (PARTITION BY e.round ORDER BY e.id) AS k
         FROM evolutions e JOIN tasks t ON t.id = e.child_task_id WHERE e.status = 'accepted')
       WHERE k <= @limit`,
    ).all({ limit: limitPerRound }) as { round: number; instruction: string }[];
  }

  /** The roots' mean instruction length and latest judge score (round 0 of the report). */
  roots(): { n: number; meanChars: number | null; meanScore: number | null } {
    return this.sql(
      `SELECT count(*) AS n, avg(length(t.instruction)) AS meanChars,
         avg((SELECT j.score FROM judgments j WHERE j.task_id = t.id ORDER BY j.id DESC LIMIT 1)) AS meanScore
       FROM tasks t WHERE t.id IN (SELECT root_task_id FROM evolutions)`,
    ).get() as { n: number; meanChars: number | null; meanScore: number | null };
  }

  /** Per round: evolutions tried and eliminated, mean instruction length and judge score of the accepted children. */
  byRound(): { round: number; tried: number; eliminated: number; meanChars: number | null; meanScore: number | null }[] {
    return this.sql(
      `SELECT e.round AS round, count(*) AS tried, sum(e.status = 'rejected') AS eliminated,
         avg(CASE WHEN e.status = 'accepted' THEN length(t.instruction) END) AS meanChars,
         avg(CASE WHEN e.status = 'accepted' THEN (SELECT j.score FROM judgments j WHERE j.task_id = t.id ORDER BY j.id DESC LIMIT 1) END) AS meanScore
       FROM evolutions e JOIN tasks t ON t.id = e.child_task_id GROUP BY e.round ORDER BY e.round`,
    ).all() as { round: number; tried: number; eliminated: number; meanChars: number | null; meanScore: number | null }[];
  }
}
