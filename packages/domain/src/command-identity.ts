// How a command is known across retries, from what its events record: its request, and its command id (the
// Update id the API sends it under, from the Idempotency-Key), which stays the same when a retry comes in a
// new request. Used by the event store (a retried append), the append activity and the plan workflow (events
// of a lost workflow task taken up).

export interface CommandIdentity {
  readonly requestId: string | null;
  readonly commandId?: string | null;
}

/** The key a command is known by: its command id, else its request; null when it has neither. */
export const commandKey = (c: CommandIdentity): string | null => c.commandId ?? c.requestId;

/** Whether two records are of the same command: the same request, or the same command id. */
export function sameCommand(a: CommandIdentity, b: CommandIdentity): boolean {
  return (a.requestId !== null && a.requestId === b.requestId) || (a.commandId != null && a.commandId === b.commandId);
}
