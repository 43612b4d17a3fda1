// The Temporal SDK pieces the audit commands need: a client to fetch workflow histories, the replay
// worker, and Temporal's JSON form of a history.

import { Client, type Connection, type DataConverter } from '@temporalio/client';
import { historyToJSON as toJSON } from '@temporalio/common/lib/proto-utils.js';
import { WORKFLOW_PRELOAD_MODULES, workflowsPath } from '@iap/worker';
import { DefaultLogger, makeTelemetryFilterString, Runtime, Worker, type ReplayResult } from '@temporalio/worker';

export type TemporalClient = Pick<Client, 'workflow'>;
export type { ReplayResult };

/** A client whose payloads the engine's codec encrypts (histories it fetches stay encrypted: decodeHistoryPayloads). */
export function temporalClient(connection: Connection, namespace: string, dataConverter: DataConverter): TemporalClient {
  return new Client({ connection, namespace, dataConverter });
}

export const historyToJSON = (history: unknown): string => toJSON(history as Parameters<typeof toJSON>[0]);

export function replayHistories(
  source: { bundlePath: string | null; dataConverter: DataConverter },
  histories: AsyncIterable<{ workflowId: string; history: unknown }>,
): AsyncIterableIterator<ReplayResult> {
  // The SDK's own warnings about failing replays would go to stdout, where the report goes; each
  // failure is in the report, so only errors pass, and to stderr.
  Runtime.install({
    logger: new DefaultLogger('ERROR', (e) => void process.stderr.write(`${e.level} ${e.message}\n`)),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });
  const code = source.bundlePath
    ? { workflowBundle: { codePath: source.bundlePath } }
    : // The workflow code the worker runs, built from source by the replayer (as the worker builds it).
      { workflowsPath: workflowsPath(), bundlerOptions: { preloadModules: [...WORKFLOW_PRELOAD_MODULES] } };
  return Worker.runReplayHistories({ ...code, dataConverter: source.dataConverter, replayName: 'iap-audit' }, histories as AsyncIterable<{ workflowId: string; history: never }>);
}

/** A replay failure that means the code would decide differently from the recorded history. */
export const isNonDeterminism = (err: Error): boolean => err.name === 'DeterminismViolationError' || /nondetermin/i.test(err.message);
