// Idempotency-Key on every write, as the IETF httpapi draft describes it. A key is scoped to the caller (the
// whole identity its token names), the operation and its target; within that scope it stands for one request
// (its fingerprint: method, route, target, If-Match and canonical body) until it expires. A retry of that
// request is sent under the command id the key's first use chose, so the workflow takes the command once, and
// once the write succeeded its answer is replayed from the ledger (also after the workflow continued as new or
// ended). The same key with another request answers 422 and does nothing. A duplicate sent while the first is
// still being processed waits for the same outcome (Temporal joins an Update id in flight) rather than getting
// the draft's 409: it gets the real answer without a retry loop, at no extra cost.

import { createHash, randomUUID } from 'node:crypto';
import {
  canonicalJson,
  claimIdempotencyKey,
  purgeExpiredIdempotencyKeys,
  recordIdempotentAnswer,
  type Database,
  type StoredAnswer,
} from '@iap/db';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { HttpProblem } from './problem.js';

export const IDEMPOTENCY_KEY_TTL_MS = 24 * 3600_000;
const PURGE_EVERY_MS = 10 * 60_000;

export interface IdempotencyOptions {
  /** How long a key stands for its request (default 24 h). */
  readonly ttlMs?: number;
}

/** What a write answers: replayed as it was to the same request's retries. */
export type Answer = StoredAnswer;

/** What the write is sent under: the command id (stable across retries of a keyed request) and its Update id. */
export interface CommandIds {
  readonly commandId: string;
  readonly updateId: string;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('base64url');

export class Idempotency {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly opts: IdempotencyOptions,
  ) {}

  /**
   * Runs a write under the request's Idempotency-Key (if it has one) and sends its answer. `write` gets the
   * ids to send the command under; without a key they are new for every request. `recorded`, for a retry
   * whose answer was lost, finds the command's outcome in the event log: the workflow that took it may have
   * continued as new or ended since, and would not know the command again.
   */
  async run(
    request: FastifyRequest,
    reply: FastifyReply,
    write: (ids: CommandIds) => Promise<Answer>,
    recorded?: (ids: CommandIds) => Promise<Answer | null>,
  ): Promise<FastifyReply> {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string') {
      const commandId = randomUUID();
      return send(reply, await write({ commandId, updateId: `cmd:${commandId}` }));
    }
    const actor = request.actor;
    const operation = `${request.method} ${request.routeOptions.url ?? request.url}`;
    const target = request.params ?? null;
    const caller = [actor.id, actor.role, actor.schoolId, actor.municipalityId, actor.partnerId, actor.partnerType];
    const keyHash = sha256(canonicalJson({ caller, operation, target, key }));
    const ifMatch = request.headers['if-match'];
    const fingerprint = sha256(canonicalJson({ operation, target, ifMatch: typeof ifMatch === 'string' ? ifMatch : null, body: request.body ?? null }));

    const claim = await claimIdempotencyKey(this.db, { keyHash, fingerprint, ttlMs: this.opts.ttlMs ?? IDEMPOTENCY_KEY_TTL_MS });
    switch (claim.kind) {
      case 'mismatch':
        throw new HttpProblem(422, 'idempotency.key_reused', 'this Idempotency-Key was used for a different request; use a new key for a new request', {
          code: 'idempotency.key_reused',
          field: 'headers.idempotency-key',
        });
      case 'done':
        request.log.info({ status: claim.answer.status }, 'idempotent replay');
        return send(reply.header('idempotent-replayed', 'true'), claim.answer);
      case 'proceed':
        break;
      default: {
        const never: never = claim;
        throw new Error(`unknown key claim ${String(never)}`);
      }
    }

    // A refusal or a 503 is not remembered: a refusal wrote nothing, and a 503's command may still complete.
    // Either way a retry is sent again under the same command id and answered on its own.
    const ids = { commandId: claim.commandId, updateId: `idem:${claim.commandId}` };
    const answer = (claim.retry && recorded ? await recorded(ids) : null) ?? (await write(ids));
    // The write is durable whether or not its answer is kept; a retry that finds none resends the same command.
    await recordIdempotentAnswer(this.db, keyHash, answer).catch((e: unknown) => request.log.warn({ err: e }, 'could not record an idempotent answer'));
    return send(reply, answer);
  }

  /** Deletes expired keys every ten minutes while the app runs. */
  purgeWhileRunning(app: FastifyInstance): void {
    const timer = setInterval(() => {
      purgeExpiredIdempotencyKeys(this.db).catch((err: unknown) => app.log.warn({ err }, 'could not purge expired idempotency keys'));
    }, PURGE_EVERY_MS);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  }
}

function send(reply: FastifyReply, answer: Answer): FastifyReply {
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}
