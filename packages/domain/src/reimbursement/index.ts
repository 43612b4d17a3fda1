// The reimbursement of one compensation claim: its own stream, decided apart from the plan.
export * from './commands.js';
export * from './decider.js';
export * from './events.js';
export * from './state.js';
