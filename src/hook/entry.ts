/** Entry point of dist/hook.js. */
import { main } from './main';

main(process.argv.slice(2));
