// @iap/api: the HTTP API.
export { buildApp, type AppDeps } from './app.js';
// The API's way to a plan's workflow, for the benchmark's row without the HTTP hop.
export { PlanGateway, type PlanGatewayOptions } from './plan-gateway.js';
