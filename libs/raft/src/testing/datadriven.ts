/**
 * A minimal data-driven test format (after etcd's `datadriven`): each case is a command line, a `----` line,
 * then the expected output up to the next blank line. Lines starting with `#` before a command are comments.
 */
export interface DataCase {
  /** Comment and blank lines before the command, kept verbatim when rewriting. */
  preamble: string[];
  /** 1-based line number of the command. */
  line: number;
  command: string;
  expected: string[];
}

/** Splits a script into cases. Throws on a command without `----`. */
export function parseDataFile(text: string): { cases: DataCase[]; trailer: string[] } {
  const lines = text.split('\n');
  const cases: DataCase[] = [];
  let preamble: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i];
    if (l.trim() === '' || l.startsWith('#')) {
      preamble.push(l);
      i++;
      continue;
    }
    const line = i + 1;
    const command = l.trim();
    i++;
    if (lines[i] !== '----') throw new Error(`line ${line}: expected '----' after '${command}'`);
    i++;
    const expected: string[] = [];
    while (i < lines.length && lines[i].trim() !== '') expected.push(lines[i++]);
    cases.push({ preamble, line, command, expected });
    preamble = [];
  }
  while (preamble.length > 0 && preamble[preamble.length - 1] === '') preamble.pop();
  return { cases, trailer: preamble };
}

/** Writes cases back with new outputs (for REWRITE=1). */
export function formatDataFile(
  cases: { preamble: string[]; command: string; output: string[] }[],
  trailer: string[],
): string {
  const out: string[] = [];
  for (const c of cases) {
    out.push(...c.preamble, c.command, '----', ...c.output);
  }
  out.push(...trailer);
  return out.join('\n').replace(/\n*$/, '\n');
}
