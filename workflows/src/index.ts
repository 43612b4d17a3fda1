// Workflow entry point for the worker's bundle: every workflow type the worker runs is exported here.
export { budgetWorkflow } from './budget-workflow.js';
export { chainCheckpointWorkflow } from './checkpoint-workflow.js';
export { planWorkflow, type PlanWorkflowInput } from './plan-workflow.js';
export { reimbursementWorkflow } from './reimbursement-workflow.js';
export { registerWorkflow } from './register-workflow.js';
