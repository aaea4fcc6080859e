/**
 * Which server a run talked to, as far as it matters for the data: the built-in simulator lists its
 * models as owned by SIMULATOR_OWNER, the start-up probe sees that, and the run records it, so the
 * dataset card can say the text is synthetic — for the simulator only, never for any local server.
 */

export const SIMULATOR_OWNER = 'zh-self-instruct-simulator';

/** What the start-up probe learned about the server. */
export interface ServerInfo {
  /** Every model the server lists is the simulator's. */
  simulator: boolean;
}

/** The run-options field that marks a run made against the simulator; nothing for any other server. */
export function simulatorMark(server: ServerInfo | undefined): { server?: 'simulator' } {
  return server?.simulator === true ? { server: 'simulator' } : {};
}

/** Whether a run's stored options say it was made against the simulator. */
export function isSimulatorRun(options: Record<string, unknown>): boolean {
  return options.server === 'simulator';
}
