// @iap/testing: the harness the integration tests share.
export * from './stack.js';
