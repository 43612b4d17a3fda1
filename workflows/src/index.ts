// Workflow entry point for the worker's bundle: every workflow type the worker runs is exported here.
export { planWorkflow, type PlanWorkflowInput } from './plan-workflow.js';
export { reimbursementWorkflow } from './reimbursement-workflow.js';
