// The fixed payload key of every test Temporal Client and Worker, and of the worker processes tests spawn.

import { temporalDataConverter } from '@iap/runtime';
import type { DataConverter } from '@temporalio/client';

export const TEST_PAYLOAD_KEY = '5e'.repeat(32);

export const testDataConverter = (): DataConverter => temporalDataConverter(TEST_PAYLOAD_KEY);
