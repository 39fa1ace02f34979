/** Every `warden` verb. Add a verb by adding a module and listing it here. */
import type { Command } from '../types';
import { audit } from './audit';
import { doctor } from './doctor';
import { evalCmd } from './evalCmd';
import { explain } from './explain';
import { hook } from './hook';
import { install } from './install';
import { test } from './test';
import { uninstall } from './uninstall';
import { validate } from './validate';
import { keygen } from './keygen';
import { trust } from './trust';
import { bundle } from './bundle';
import { sync } from './sync';
import { server } from './server';
import { forward } from './forward';
import { enroll } from './enroll';
import { exception } from './exception';
import { mcp } from './mcp';

export const COMMANDS: Command[] = [hook, evalCmd, validate, test, explain, install, uninstall, doctor, audit, keygen, trust, bundle, sync, server, forward, enroll, exception, mcp];
