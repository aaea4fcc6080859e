/** Only the flags the user typed: absent ones stay out, so the config file and the library's defaults apply. */
import type { Command } from 'commander';

export function givenFlags(command: Command): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(command.opts())) {
    // --endpoint, given once per endpoint, is the `endpoints` list of the library and the config file.
    if (command.getOptionValueSource(key) === 'cli') given[key === 'endpoint' ? 'endpoints' : key] = value;
  }
  return given;
}

/** `--endpoint URL`, repeatable: each one adds a model server to the run. */
export function collectEndpoint(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export const ENDPOINT_HELP =
  'a model server for this run (OpenAI-compatible base URL); give it several times to spread the run over several';
