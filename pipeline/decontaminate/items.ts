/** A benchmark item as the check sees it: its id, the question stem and the options, in plain text. */

export interface BenchmarkItem {
  /** `file:id` (the file's own id column or field, else its row or record number). */
  id: string;
  /** The question without its options. */
  stem: string;
  /** The options' texts (empty when the question has none, or they are inside `stem` and could not be cut out). */
  options: string[];
}

/** An option label opening a line or following whitespace: `A．`, `A.`, `A、`, `(A)`, `A:`. */
const FIRST_OPTION = /(?:^|\n|[ \t\u3000])[(（]?[AＡ][)）]?\s*[.．、:：)）]/;

/**
 * A question whose options are written inside its text (GAOKAO-Bench): the stem is the text before the
 * first `A.` label, the options the rest, as one piece. Without such a label the whole text is the stem.
 */
export function splitInlineOptions(question: string): { stem: string; options: string[] } {
  const m = FIRST_OPTION.exec(question);
  if (m === null || m.index === 0) return { stem: question, options: [] };
  return { stem: question.slice(0, m.index), options: [question.slice(m.index)] };
}

/** The item's whole text: the stem, then each option on its own line. */
export function wholeText(item: BenchmarkItem): string {
  return item.options.length === 0 ? item.stem : `${item.stem}\n${item.options.join('\n')}`;
}
