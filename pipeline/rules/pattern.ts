/** Long alternations written one branch per line. */
export function anyOf(flags: string, ...branches: string[]): RegExp {
  return new RegExp(branches.join('|'), flags);
}
