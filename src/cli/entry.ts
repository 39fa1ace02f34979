/** Entry point of dist/cli.js. */
import { main } from './main';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`warden: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
