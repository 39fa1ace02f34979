/** Every `warden` verb. Add a verb by adding a module and listing it here. */
import type { Command } from '../types';
import { evalCmd } from './evalCmd';
import { explain } from './explain';
import { hook } from './hook';
import { test } from './test';
import { validate } from './validate';
import { audit } from './audit';

export const COMMANDS: Command[] = [hook, evalCmd, validate, test, explain, audit];
