/** Every `warden` verb. Add a verb by adding a module and listing it here. */
import type { Command } from '../types';
import { evalCmd } from './evalCmd';
import { explain } from './explain';
import { hook } from './hook';
import { test } from './test';
import { validate } from './validate';
import { install } from './install';
import { uninstall } from './uninstall';
import { doctor } from './doctor';
import { keygen } from './keygen';
import { trust } from './trust';
import { bundle } from './bundle';
import { sync } from './sync';
import { audit } from './audit';

export const COMMANDS: Command[] = [hook, evalCmd, validate, test, explain, audit, keygen, trust, bundle, sync, install, uninstall, doctor];
