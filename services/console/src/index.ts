// @iap/console: the web console's backend-for-frontend (sign-in, session, CSRF, API proxy).
export * from './app.js';
export * from './config.js';
export * from './sessions.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the bootstrap builds the front end. */
export const CONSOLE_STATIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console-web/dist');
