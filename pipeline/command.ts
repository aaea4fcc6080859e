/**
 * How messages, the dataset card and `stats` name the command a user types. `npx zh-self-instruct`
 * works both where the package is installed and in a clone of the repository (npx runs the project's
 * own bin), unlike `npm run <script>`, which exists only in a clone.
 */
export const COMMAND = 'npx zh-self-instruct';

/** `npx zh-self-instruct report`, for a subcommand and its arguments. */
export function commandLine(...args: string[]): string {
  return [COMMAND, ...args].join(' ');
}
