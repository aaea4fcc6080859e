/**
 * The one place dialogue checks call the task quality rules. Another change is moving the rules from
 * `pipeline/filters.ts` into `pipeline/rules/`; when it lands, only this function changes.
 */
import {
  checkTask,
  DEFAULT_RULE_OPTIONS as DEFAULT_FILTER_OPTIONS,
  type RuleOptions as FilterOptions,
  type Verdict,
} from '../rules/index.ts';
import type { Task } from '../types.ts';

export type { FilterOptions, Verdict };
export { DEFAULT_FILTER_OPTIONS };

/** The task rules' verdict on one instruction/output pair. */
export function taskRules(task: Task, options: FilterOptions = DEFAULT_FILTER_OPTIONS): Verdict {
  return checkTask(task, options);
}
