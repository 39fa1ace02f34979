/** Entry point of dist/hook.js. */
import { main } from './main';

main(process.argv.slice(2));

/** Called by the loader before it writes the V8 code cache (warm.ts). */
export { warm } from './warm';
