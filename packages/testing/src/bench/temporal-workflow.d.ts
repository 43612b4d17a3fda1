// Types for the few @temporalio/workflow functions noop-workflow.ts uses. @iap/testing does not depend on
// @temporalio/workflow directly (only through @temporalio/worker), so TypeScript cannot resolve it from here;
// engine-bench.ts points the workflow bundler at the worker's copy. Delete this file once
// "@temporalio/workflow" is a dependency of @iap/testing.

declare module '@temporalio/workflow' {
  export interface UpdateDefinition<Ret, Args extends unknown[]> {
    readonly type: 'update';
    readonly name: string;
    /** Type markers only. */
    readonly __ret?: Ret;
    readonly __args?: Args;
  }
  export function defineUpdate<Ret, Args extends unknown[] = []>(name: string): UpdateDefinition<Ret, Args>;
  export function setHandler<Ret, Args extends unknown[]>(def: UpdateDefinition<Ret, Args>, handler: (...args: NoInfer<Args>) => NoInfer<Ret> | Promise<NoInfer<Ret>>): void;
  export function condition(fn: () => boolean, timeout?: number | string): Promise<boolean>;
  export function proxyLocalActivities<A>(options: { startToCloseTimeout: string }): A;
}
