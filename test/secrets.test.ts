/** The LLM layer's redaction (issue 21): keys whole, abbreviated, key-shaped, and in a base URL's userinfo. */
import { describe, expect, it } from 'vitest';
import { displayURL, hasUserinfo, REDACTED, Redactor } from '../pipeline/llm/secrets.ts';

describe('Redactor', () => {
  // Built, so no tracked file holds a key-shaped string.
  const key = ['sk', 'relteABCDEFGHIJKLMNOP0123776d'].join('-');
  const r = Redactor.forEndpoint(key, 'http://alice:p%40ss-word-long@example.com/v1');

  it('cuts the key out whole, abbreviated, and anything shaped like a key', () => {
    expect(r.text(`密钥是${key}。`)).toBe(`密钥是${REDACTED}。`);
    for (const short of ['sk-relte...776d', 'sk-relte…776d', 'sk-rel*********776d', 'sk-relteABCD...'])
      expect(r.text(`Incorrect API key provided: ${short} (check it)`)).toBe(`Incorrect API key provided: ${REDACTED} (check it)`);
    expect(r.text(`another ${['sk', 'proj', 'Z'.repeat(16)].join('-')} here`)).toBe(`another ${REDACTED} here`);
    // A key that is not sk-shaped is still cut, whole or abbreviated.
    const custom = new Redactor(['custom-token-0123456789']);
    expect(custom.text('token custom-token-0123456789 and custo...6789')).toBe(`token ${REDACTED} and ${REDACTED}`);
  });

  it('cuts the credentials of the base URL, decoded or as written', () => {
    expect(r.text('password p@ss-word-long or p%40ss-word-long')).toBe(`password ${REDACTED} or ${REDACTED}`);
    expect(hasUserinfo('http://alice:x@example.com/v1')).toBe(true);
    expect(hasUserinfo('http://example.com/v1')).toBe(false);
    expect(displayURL('http://alice:p%40ss-word-long@example.com/v1')).toBe(`http://${REDACTED}@example.com/v1`);
  });

  it('leaves ordinary text alone, ellipses and all', () => {
    const text = '请续写：从前有座山...山里有座庙…… task-ab...cd, 1...2, ask-me';
    expect(r.text(text)).toBe(text);
  });

  it('takes linear time on long runs of key-like characters and dots', () => {
    const t = performance.now();
    r.text(`${'a'.repeat(200_000)}${'.'.repeat(100_000)}${'sk-'.repeat(50_000)}`);
    expect(performance.now() - t).toBeLessThan(2000);
  });
});
