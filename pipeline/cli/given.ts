/** Only the flags the user typed: absent ones stay out, so the config file and the library's defaults apply. */
import type { Command } from 'commander';

export function givenFlags(command: Command): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(command.opts())) {
    if (command.getOptionValueSource(key) === 'cli') given[key] = value;
  }
  return given;
}
