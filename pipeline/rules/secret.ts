/**
 * contains_secret: a task that carries a credential. A server may echo the caller's key into its
 * tasks (`请解释这个密钥的含义：sk-…`); stored as accepted, it would be exported and shown to the next
 * prompts as an example. Two tests: the literal secrets of this run (RuleOptions.secrets: the API key,
 * endpoint keys), and strings shaped like well-known API keys. The detail never quotes the secret.
 */
import type { Hit, Rule, RuleOptions } from './types.ts';
import type { Task } from '../types.ts';

/** Shorter literals would match ordinary text ("not-needed" is the key of a local server). */
const MIN_SECRET = 8;
const NOT_A_SECRET = new Set(['not-needed', 'sk-no-key-required', 'EMPTY', 'none', 'dummy', 'ollama']);

/**
 * Well-known key shapes. Bounded, and anchored on what cannot precede a key, so a run of `sk-sk-sk-`
 * is read once (linear).
 */
const KEY_SHAPED =
  /(?<![A-Za-z0-9_-])(?:sk-[A-Za-z0-9_-]{20,200}|AKIA[0-9A-Z]{16}|(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{30,60}|github_pat_[A-Za-z0-9_]{30,120}|AIza[0-9A-Za-z_-]{35}|xox[abpr]-[A-Za-z0-9-]{10,100})(?![A-Za-z0-9_-])/gu;
/** A documentation placeholder, not a key: sk-xxxxxxxx…, sk-your-key-here, sk-************. */
const PLACEHOLDER = /x{4,}|X{4,}|\*{3,}|\.{3}|your|here|example|placeholder|dummy|fake|test_?key/u;

function keyShaped(text: string): string | undefined {
  if (!text.includes('sk-') && !/AKIA|gh[pousr]_|github_pat_|AIza|xox/u.test(text)) return undefined;
  KEY_SHAPED.lastIndex = 0;
  for (let m = KEY_SHAPED.exec(text); m !== null; m = KEY_SHAPED.exec(text)) {
    const key = m[0];
    // A real key mixes digits and letters; prose like sk-learn-is-a-python-library does not.
    if (/\d/u.test(key) && /[A-Za-z]/u.test(key.slice(3)) && !PLACEHOLDER.test(key)) return key;
  }
  return undefined;
}

/** The secrets worth looking for, from the options. */
export function literalSecrets(options: RuleOptions): string[] {
  return (options.secrets ?? []).filter((s) => s.length >= MIN_SECRET && !NOT_A_SECRET.has(s));
}

/** "sk-…(51 characters)": enough to tell a reader which kind of key, nothing of the key. */
function masked(key: string): string {
  return `${key.slice(0, key.startsWith('github_pat_') ? 11 : 4)}…(${key.length} characters)`;
}

export const secretRule: Rule = (task: Task, options) => {
  const secrets = literalSecrets(options);
  for (const [name, text] of [
    ['instruction', task.instruction],
    ['input', task.input],
    ['output', task.output],
  ] as const) {
    for (const secret of secrets) {
      if (text.includes(secret)) return hit(`${name} contains a secret of this run (a configured key)`);
    }
    const key = keyShaped(text);
    if (key !== undefined) return hit(`${name} contains an API-key-shaped string ${masked(key)}`);
  }
  return undefined;
};

function hit(detail: string): Hit {
  return { reason: 'contains_secret', detail };
}

/**
 * `text` with every literal secret of `options` and every key-shaped string replaced by `***`: a task
 * rejected as contains_secret is stored this way, so the secret is not in the database either.
 */
export function redactSecrets(text: string, options: RuleOptions): string {
  let out = text;
  for (const secret of literalSecrets(options)) out = out.split(secret).join('***');
  for (let key = keyShaped(out); key !== undefined; key = keyShaped(out)) out = out.split(key).join('***');
  return out;
}

/** The secrets of an endpoint a run talks to: its key, and a password in its base URL's userinfo. */
export function endpointSecrets(apiKey: string | undefined, baseURL: string | undefined): string[] {
  const secrets = apiKey ? [apiKey] : [];
  if (baseURL !== undefined) {
    try {
      const password = decodeURIComponent(new URL(baseURL).password);
      if (password !== '') secrets.push(password);
    } catch {
      // Not a URL: the client refuses it before anything is sent; nothing to look for.
    }
  }
  return secrets;
}
