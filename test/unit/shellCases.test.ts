/** The shell-analysis corpus: one named test per case in test/cases/shell/*.yaml. */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { analyzeCase, checkShellCase, loadShellCaseFiles } from '../support/shellCases';

for (const { file, cases } of loadShellCaseFiles()) {
  describe(`shell cases: ${path.basename(file)}`, () => {
    for (const c of cases) {
      it(c.name, () => {
        const errs = checkShellCase(c, analyzeCase(c));
        assert.deepEqual(errs, [], `${c.command}\n  ${errs.join('\n  ')}`);
      });
    }
  });
}
