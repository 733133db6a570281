import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatDataFile, parseDataFile } from './datadriven';
import { InteractionEnv } from './interaction-env';

// Runs every libs/raft/testdata/*.txt script and compares each command's output with the expected trace.
// REWRITE=1 regenerates the expected output; review the diff by hand: the traces are the spec.
const dir = path.join(__dirname, '../../testdata');
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort();

describe('raft scenario scripts', () => {
  it('finds scripts', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const f of files) {
    it(f, () => {
      const file = path.join(dir, f);
      const { cases, trailer } = parseDataFile(fs.readFileSync(file, 'utf8'));
      const env = new InteractionEnv();
      const results = cases.map((c) => {
        let output: string[];
        try {
          output = env.handle(c.command);
        } catch (e) {
          output = [`error: ${(e as Error).message}`];
        }
        return { ...c, output };
      });
      if (process.env.REWRITE === '1') {
        fs.writeFileSync(file, formatDataFile(results, trailer));
        return;
      }
      for (const r of results) {
        const want = r.expected.join('\n');
        const got = r.output.join('\n');
        if (want !== got) {
          throw new Error(`${f}:${r.line}: ${r.command}\n--- expected\n${want}\n--- got\n${got}`);
        }
      }
    });
  }
});
