// The auditor's commands: `history` (a plan's events, its state as of an instant, the difference between
// two, its Temporal history), `verify` (hash chains of a plan, a school or the whole log, against the
// latest signed checkpoint), `checkpoint` (sign and record every chain head), `replay` (recorded workflow
// histories against the current workflow code), `export` and `verify-export` (an offline-checkable bundle).
// Exit codes: 0 all good, 2 the audit found a problem, 1 the command itself failed.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  AUDITOR_DB_ROLE,
  createDb,
  describeScope,
  diffBetween,
  loadOrCreateCheckpointKey,
  publicKeyFileOf,
  readPlanHistory,
  stateAt,
  takeCheckpoint,
  verifyExport,
  verifyLog,
  workflowsInScope,
  writeExport,
  type AuditFinding,
  type AuditScope,
  type VerifyScope,
} from '@iap/db';
import { REPO_ROOT } from '@iap/infra';
import { connectTemporal, decodeHistoryPayloads, EncryptionCodec, loadOrCreatePayloadKey, temporalDataConverter, type Config } from '@iap/runtime';
import { Command, InvalidArgumentError, Option } from 'commander';
import { progressLine } from '../audit/progress.js';
import { historyToJSON, isNonDeterminism, replayHistories, temporalClient } from '../audit/temporal.js';

export interface AuditCommandContext {
  readonly config: Config;
  readonly databaseUrl: () => string;
  readonly temporalAddress: () => string;
}

const EXIT_FOUND_PROBLEM = 2;

function instant(value: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`"${value}" is not an instant (e.g. 2026-10-01T12:00:00Z)`);
  return new Date(t).toISOString();
}

const dbRoleOption = () =>
  new Option('--db-role <role>', 'database role to act as (SET ROLE); "" for the login role as is').default(AUDITOR_DB_ROLE);

function scopeOf(o: { plan?: string; school?: string }): VerifyScope {
  if (o.plan && o.school) throw new InvalidArgumentError('give --plan or --school, not both');
  return o.plan ? { kind: 'plan', planId: o.plan } : o.school ? { kind: 'school', schoolId: o.school } : { kind: 'log' };
}

/** git describe of the checkout, else the CLI's package version: what code made an export. */
function codeVersion(): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty', '--tags'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    const pkg = createRequire(import.meta.url)('../../package.json') as { name: string; version: string };
    return `${pkg.name}@${pkg.version}`;
  }
}

const describeFinding = (f: AuditFinding): string =>
  `stream ${f.streamId} version ${f.streamVersion}${f.eventId ? ` (event ${f.eventId}, position ${f.globalPosition})` : ''}: ${f.reason}\n    expected ${f.expected}\n    found    ${f.found}`;

export function registerAuditCommands(program: Command, ctx: AuditCommandContext): void {
  const openDb = (role: string) => createDb({ connectionString: ctx.databaseUrl(), max: 2, role: role || null, applicationName: 'iap-audit' });
  const keyFile = () => process.env.IAP_CHECKPOINT_KEY_FILE || path.join(ctx.config.dataDir, 'checkpoint-key.pem');

  program
    .command('history')
    .description("a plan's events (actor, role, time, request id, hash); --at: its state then; --from: what changed since; --workflow: its Temporal history")
    .argument('<planId>')
    .option('--at <instant>', 'print the state as of this instant (the decider over the log up to then)', instant)
    .option('--from <instant>', 'print what changed from this instant to --to (default now)', instant)
    .option('--to <instant>', 'end of --from', instant)
    .option('--workflow', "print the plan workflow's Temporal history as JSON (replayable)")
    .option('--json', 'print JSON')
    .addOption(dbRoleOption())
    .action(async (planId: string, o: { at?: string; from?: string; to?: string; workflow?: boolean; json?: boolean; dbRole: string }) => {
      const db = openDb(o.dbRole);
      try {
        if (o.workflow) {
          const wf = (await workflowsInScope(db, { kind: 'plan', planId })).find((w) => w.streamId === planId);
          if (!wf) throw new Error(`the log has no plan ${planId}`);
          const conn = await connectTemporal(ctx.temporalAddress(), 10_000);
          try {
            const keys = loadOrCreatePayloadKey(ctx.config.dataDir);
            const client = temporalClient(conn, ctx.config.temporalNamespace, temporalDataConverter(keys));
            const history = await client.workflow.getHandle(wf.workflowId).fetchHistory();
            console.log(historyToJSON(await decodeHistoryPayloads(history, [new EncryptionCodec(keys)])));
          } finally {
            await conn.close();
          }
          return;
        }
        const h = await readPlanHistory(db, planId);
        if (!h) throw new Error(`the log has no plan ${planId}`);
        if (o.at) {
          console.log(JSON.stringify(stateAt(h.events, o.at), null, 2));
        } else if (o.from) {
          console.log(JSON.stringify(diffBetween(h.events, o.from, o.to ?? new Date().toISOString()), null, 2));
        } else if (o.json) {
          console.log(JSON.stringify(h, null, 2));
        } else {
          for (const e of [...h.events, ...h.claims.flatMap((c) => c.events)]) {
            const m = e.metadata;
            console.log(
              [e.occurredAt, `${e.streamId}@${e.streamVersion}`, e.type.padEnd(26), `${m.actorRole}:${m.actorId}`, `req=${m.requestId ?? '-'}`, e.hash.slice(0, 16)].join('  '),
            );
          }
        }
      } finally {
        await db.destroy();
      }
    });

  program
    .command('verify')
    .description('recompute the hash chains of a plan, a school or the whole log, and compare heads with the latest signed checkpoint')
    .option('--plan <planId>')
    .option('--school <schoolId>')
    .option('--public-key <file>', 'the pinned checkpoint public key (default: the .pub.pem next to IAP_CHECKPOINT_KEY_FILE, if there)')
    .option('--json', 'print JSON')
    .option('--quiet', 'no progress line')
    .addOption(dbRoleOption())
    .action(async (o: { plan?: string; school?: string; publicKey?: string; json?: boolean; quiet?: boolean; dbRole: string }) => {
      const scope = scopeOf(o);
      const pubFile = o.publicKey ?? publicKeyFileOf(keyFile());
      const trusted = existsSync(pubFile) ? [readFileSync(pubFile, 'utf8')] : [];
      const db = openDb(o.dbRole);
      const progress = progressLine('verify', { quiet: o.quiet === true });
      try {
        const report = await verifyLog(db, scope, { onProgress: progress, trustedPublicKeys: trusted });
        progress.finish();
        if (o.json) console.log(JSON.stringify(report, null, 2));
        else {
          console.log(`${describeScope(scope)}: ${report.streams} streams, ${report.events} events: ${report.intact ? 'intact' : 'NOT INTACT'}`);
          const c = report.checkpoint;
          if (!c) console.log('no checkpoint yet: deleted newest events would go unseen (run `iap checkpoint`)');
          else {
            const pin = c.keyTrusted === null ? 'no key pinned' : c.keyTrusted ? 'pinned key' : 'NOT the pinned key';
            console.log(`checkpoint #${c.id} of ${c.takenAt}, key ${c.keyId} (${pin}), signature ${c.signatureValid ? 'valid' : 'INVALID'}; ${c.streamsChecked} streams checked`);
            if (c.problem) console.log(`  ${c.problem}`);
          }
          if (report.firstBreak) console.log(`first broken link: ${describeFinding(report.firstBreak)}`);
          for (const f of report.findings.slice(1, 50)) console.log(`also: ${describeFinding(f)}`);
          if (report.findings.length > 50) console.log(`... and ${report.findings.length - 50} more`);
        }
        if (!report.intact) process.exitCode = EXIT_FOUND_PROBLEM;
      } finally {
        await db.destroy();
      }
    });

  program
    .command('checkpoint')
    .description('sign every stream\'s chain head and record them where the application cannot rewrite them (as iap_auditor)')
    .option('--json', 'print JSON')
    .addOption(dbRoleOption())
    .action(async (o: { json?: boolean; dbRole: string }) => {
      const file = keyFile();
      const { key, created } = await loadOrCreateCheckpointKey(file);
      if (created) console.error(`created the checkpoint signing key ${file} (keep it away from the database and the app); public key: ${publicKeyFileOf(file)}`);
      const db = openDb(o.dbRole);
      try {
        const c = await takeCheckpoint(db, key);
        const summary = { id: c.id, takenAt: c.takenAt, globalPosition: c.globalPosition, streams: c.streamCount, events: c.eventCount, headsDigest: c.headsDigest, keyId: c.keyId, signature: c.signature };
        console.log(o.json ? JSON.stringify(summary, null, 2) : `checkpoint #${c.id}: ${c.streamCount} streams, ${c.eventCount} events up to position ${c.globalPosition}; heads digest ${c.headsDigest}; key ${c.keyId}`);
      } finally {
        await db.destroy();
      }
    });

  program
    .command('replay')
    .description("replay recorded workflow histories (one plan's, a school's, or all) against the current workflow code; report non-determinism by plan")
    .option('--plan <planId>')
    .option('--school <schoolId>')
    .option('--bundle <file>', 'a prebuilt workflow bundle to replay against (default: build one from @iap/workflows)')
    .option('--json', 'print JSON')
    .option('--quiet', 'no progress line')
    .addOption(dbRoleOption())
    .action(async (o: { plan?: string; school?: string; bundle?: string; json?: boolean; quiet?: boolean; dbRole: string }) => {
      const scope = scopeOf(o);
      const db = openDb(o.dbRole);
      const workflows = await workflowsInScope(db, scope).finally(() => db.destroy());
      const planOf = new Map(workflows.map((w) => [w.workflowId, w.planId]));
      const conn = await connectTemporal(ctx.temporalAddress(), 10_000);
      const dataConverter = temporalDataConverter(loadOrCreatePayloadKey(ctx.config.dataDir));
      const client = temporalClient(conn, ctx.config.temporalNamespace, dataConverter);
      const unavailable: Array<{ planId: string | null; workflowId: string; error: string }> = [];
      async function* histories() {
        for (const w of workflows) {
          try {
            yield { workflowId: w.workflowId, history: await client.workflow.getHandle(w.workflowId).fetchHistory() };
          } catch (err) {
            // Past the namespace's retention a closed workflow's history is gone: nothing to replay.
            unavailable.push({ planId: w.planId, workflowId: w.workflowId, error: String(err) });
          }
        }
      }
      const progress = progressLine('replay', { quiet: o.quiet === true });
      const bad: Array<{ planId: string | null; workflowId: string; runId: string; kind: 'nondeterministic' | 'failed'; error: string }> = [];
      let replayed = 0;
      try {
        for await (const r of replayHistories({ bundlePath: o.bundle ?? null, dataConverter }, histories())) {
          replayed++;
          progress(replayed + unavailable.length, workflows.length);
          if (r.error) {
            bad.push({ planId: planOf.get(r.workflowId) ?? null, workflowId: r.workflowId, runId: r.runId, kind: isNonDeterminism(r.error) ? 'nondeterministic' : 'failed', error: r.error.message });
          }
        }
      } finally {
        progress.finish();
        await conn.close();
      }
      const report = { workflows: workflows.length, replayed, ok: replayed - bad.length, problems: bad, unavailable };
      if (o.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(`${describeScope(scope)}: replayed ${replayed} of ${workflows.length} workflow histories, ${report.ok} ok`);
        for (const b of bad) console.log(`${b.kind.toUpperCase()} plan ${b.planId ?? '?'} workflow ${b.workflowId} run ${b.runId}: ${b.error}`);
        for (const u of unavailable) console.log(`unavailable: plan ${u.planId ?? '?'} workflow ${u.workflowId}: ${u.error}`);
      }
      if (bad.length) process.exitCode = EXIT_FOUND_PROBLEM;
    });

  program
    .command('export')
    .description('write an audit bundle (events as JSON lines, projection snapshot, manifest with counts, hashes, chain heads and code version)')
    .requiredOption('--out <dir>', 'directory to write (must not hold a bundle already)')
    .option('--plan <planId>')
    .option('--school <schoolId>')
    .option('--from <instant>', 'with --to: the events that occurred in [from, to)', instant)
    .option('--to <instant>', 'end of the period (exclusive)', instant)
    .option('--all', 'the whole log')
    .option('--quiet', 'no progress line')
    .addOption(dbRoleOption())
    .action(async (o: { out: string; plan?: string; school?: string; from?: string; to?: string; all?: boolean; quiet?: boolean; dbRole: string }) => {
      const chosen = [o.plan, o.school, o.from ?? o.to, o.all].filter(Boolean).length;
      if (chosen !== 1) throw new InvalidArgumentError('give exactly one of --plan, --school, --from/--to or --all');
      if ((o.from || o.to) && !(o.from && o.to)) throw new InvalidArgumentError('a period needs both --from and --to');
      const scope: AuditScope = o.from && o.to ? { kind: 'period', from: o.from, to: o.to } : o.all ? { kind: 'log' } : scopeOf(o);
      const db = openDb(o.dbRole);
      const progress = progressLine('export', { quiet: o.quiet === true });
      try {
        const m = await writeExport(db, scope, o.out, { codeVersion: codeVersion(), onProgress: progress });
        progress.finish();
        const sha = (await verifyExport(o.out)).manifestSha256;
        console.log(`exported ${describeScope(scope)}: ${m.counts.events} events in ${m.counts.streams} streams, ${m.counts.plans} plans, ${m.counts.claims} claims to ${o.out}`);
        console.log(`manifest sha256 ${sha} (keep it apart from the bundle)`);
      } finally {
        await db.destroy();
      }
    });

  program
    .command('verify-export')
    .description('check an audit bundle offline: file hashes, counts, every chain recomputed, projections against the decider')
    .argument('<dir>')
    .option('--json', 'print JSON')
    .option('--quiet', 'no progress line')
    .action(async (dir: string, o: { json?: boolean; quiet?: boolean }) => {
      const progress = progressLine('verify-export', { quiet: o.quiet === true });
      const r = await verifyExport(dir, { onProgress: progress });
      progress.finish();
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else {
        console.log(`${dir}: ${r.events} events in ${r.streams} streams: ${r.ok ? 'OK' : 'FAILED'} (manifest sha256 ${r.manifestSha256})`);
        for (const p of r.problems) console.log(`${p.kind}: ${p.detail}`);
        for (const f of r.findings) console.log(`broken link: ${describeFinding(f)}`);
      }
      if (!r.ok) process.exitCode = EXIT_FOUND_PROBLEM;
    });
}
