/**
 * script_markup: executable markup in a task that is not about web code (`…</script><script>alert(1)
 * </script>`, `<img onerror=…>`, `javascript:` links), or an XSS probe in any task. Kept, it would be
 * exported, rendered by a report or a chat UI, and shown to the next prompts as an example. A task about
 * HTML or JavaScript may contain scripts: there only the probes (`alert(1)`, `document.cookie`) count.
 */
import { quoteMatch } from './evidence.ts';
import type { Rule } from './types.ts';

const SCRIPT =
  /<\s*script\b|<\s*iframe\b|javascript\s*:|\bon(?:error|load|click|mouseover|focus)\s*=\s*["'`]?[^\s"'`>]|<\s*object\b|<\s*embed\b/iu;
const PROBE = /alert\s*\(\s*(?:1|document\.(?:cookie|domain)|["'`]xss["'`])\s*\)|document\.cookie/iu;
/** Tasks whose subject is web code. */
const ABOUT_WEB_CODE =
  /HTML|html|JavaScript|javascript|\bJS\b|\bjs\b|网页|前端|代码|程序|脚本|XSS|xss|浏览器|DOM|jQuery|Vue|React|标签|网站|页面/u;
/** Cheap gate. */
const HINT = /<|javascript|on[a-z]{3,9}\s*=|alert|cookie/iu;

export const scriptRule: Rule = (task) => {
  const aboutWebCode = ABOUT_WEB_CODE.test(task.instruction);
  for (const [name, text] of [
    ['output', task.output],
    ['input', task.input],
    ['instruction', task.instruction],
  ] as const) {
    if (!HINT.test(text)) continue;
    const m = (aboutWebCode ? null : SCRIPT.exec(text)) ?? PROBE.exec(text);
    if (m) return { reason: 'script_markup', detail: `${name} has executable markup ${quoteMatch(text, m)}` };
  }
  return undefined;
};
