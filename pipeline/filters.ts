/**
 * Moved to `pipeline/rules/` (one module per family). This re-export keeps older imports compiling;
 * new code imports `./rules/index.ts`.
 */
export {
  checkPair,
  checkTask,
  DEFAULT_RULE_OPTIONS as DEFAULT_FILTER_OPTIONS,
  isMainlyChinese,
  type RejectReason,
  type RuleOptions as FilterOptions,
  type Verdict,
} from './rules/index.ts';
