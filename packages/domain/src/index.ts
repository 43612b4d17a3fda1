// @iap/domain: the pure domain of individual support plans. No I/O, no clock, no randomness.
export * from './actor.js';
export * from './errors.js';
export * from './ids.js';
export * from './money.js';
export * from './semester.js';
export * from './plan/commands.js';
export * from './plan/decider.js';
export * from './plan/events.js';
export * from './plan/state.js';
