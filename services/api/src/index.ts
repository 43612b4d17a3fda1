// @iap/api: the HTTP API.
export { buildApp, type AppDeps } from './app.js';
