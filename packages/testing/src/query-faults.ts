// Client-side faults for integration tests: the query runs on the real Postgres, and its answer is lost on the
// way back, as when a connection drops mid-request. Installed on a Kysely instance with withPlugin.
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';

/** Which query a fault is for: the query's operation tree, as Kysely built it. */
export type QueryMatch = (node: RootOperationNode) => boolean;

/** Matches queries whose operation tree mentions every one of `parts` (e.g. a table, a column, an operator). */
export const mentions =
  (...parts: string[]): QueryMatch =>
  (node) => {
    const text = JSON.stringify(node);
    return parts.every((p) => text.includes(JSON.stringify(p)));
  };

export class QueryFaults implements KyselyPlugin {
  readonly #armed: QueryMatch[] = [];
  /** Queries (by Kysely's query id) whose answer is to be lost. */
  readonly #pending = new WeakSet<object>();
  /** How many answers were lost so far. */
  delivered = 0;

  /** Disarms every fault not delivered yet. */
  clear(): void {
    this.#armed.length = 0;
  }

  /**
   * The next query that `match`es loses its answer (the caller gets a connection error). A subquery
   * is offered too (Kysely transforms it on its own) and would take the fault without a result: match the
   * statement, not a part of it.
   */
  failNext(match: QueryMatch): void {
    this.#armed.push(match);
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const i = this.#armed.findIndex((match) => match(args.node));
    if (i !== -1) {
      this.#armed.splice(i, 1);
      this.#pending.add(args.queryId);
    }
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (!this.#pending.has(args.queryId)) return args.result;
    this.#pending.delete(args.queryId);
    this.delivered++;
    throw new Error('Connection terminated unexpectedly (injected by QueryFaults)');
  }
}
