/** The Evol-Instruct operations by name (apart from ops.ts, so the options and the CLI load no templates). */
export const EVOLVE_OPS = ['deepen', 'constrain', 'concretize', 'reason', 'breadth'] as const;
export type EvolveOp = (typeof EVOLVE_OPS)[number];
