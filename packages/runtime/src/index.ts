// @iap/runtime: configuration, logging and connections every process of the engine shares.
export * from './config.js';
export * from './logger.js';
export * from './temporal.js';
export * from './tokens.js';
export * from './register.js';
export * from './oidc.js';
export * from './payload-codec.js';
