/**
 * The signed-bundle attack corpus: every case under test/cases/bundles/*.yaml (built from the research
 * attack list, research/bundles-audit-server.md §1.6), one named test per case. Each case sets up a state
 * directory with a pinned trust root and an accepted bundle, runs the attack, asserts the exact rejection
 * reason, and asserts what the hook enforces afterwards (the last good bundle, or the baseline and why).
 */
import * as path from 'node:path';
import { at, loadCaseFiles, World, checkActive } from '../cases/bundles/harness';

const ROOT = path.resolve(__dirname, '../../..');
const DIR = path.join(ROOT, 'test/cases/bundles');

for (const { file, cases } of loadCaseFiles(DIR)) {
  describe(`bundle attacks: ${file}`, () => {
    for (const c of cases) {
      it(`${c.ref ? `[${c.ref}] ` : ''}${c.name}`, async () => {
        const world = new World();
        try {
          await world.init(c.setup);
          for (const [i, step] of c.steps.entries()) await world.runStep(step, `${file}: ${c.name}: step ${i + 1}`);
          const { at: when, ...expect } = c.final;
          checkActive(world.hook(when !== undefined ? at(when) : world.lastAt), expect, `${file}: ${c.name}: final`);
        } finally {
          world.cleanup();
        }
      });
    }
  });
}
