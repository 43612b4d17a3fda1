// The register of organisations as rows: each register event upserts the entry it records, in the same
// transaction as the event. Reads (the API's token check, the register routes) come from here.

import { assertNever, type OrganisationEvent } from '@iap/domain';
import type { Kysely, Transaction } from 'kysely';
import type { RecordedEvent } from '../event-store.js';
import type { Database, OrganisationsTable } from '../schema.js';

type Db = Kysely<Database> | Transaction<Database>;

function rowOf(e: OrganisationEvent): Omit<OrganisationsTable, 'version' | 'registered_at' | 'updated_at'> {
  switch (e.type) {
    case 'PartnerRegistered':
    case 'PartnerChanged': {
      const d = e.data;
      return { kind: 'partner', id: d.partnerId, name: d.name, partner_type: d.type, municipality_id: null, partner_id: d.partnerId, active: d.active };
    }
    case 'MunicipalityRegistered':
    case 'MunicipalityChanged': {
      const d = e.data;
      return { kind: 'municipality', id: d.municipalityId, name: d.name, partner_type: 'municipality', municipality_id: d.municipalityId, partner_id: d.partnerId, active: d.active };
    }
    case 'SchoolRegistered':
    case 'SchoolChanged': {
      const d = e.data;
      return { kind: 'school', id: d.schoolId, name: d.name, partner_type: d.partnerType, municipality_id: d.municipalityId, partner_id: d.partnerId, active: d.active };
    }
    default:
      return assertNever(e);
  }
}

export async function projectOrganisations(trx: Db, events: readonly RecordedEvent[]): Promise<void> {
  for (const e of events) {
    const row = rowOf({ type: e.type, data: e.data } as OrganisationEvent);
    const { kind: _k, id: _i, ...changed } = row;
    await trx
      .insertInto('organisations')
      .values({ ...row, version: e.streamVersion, registered_at: e.occurredAt, updated_at: e.occurredAt })
      .onConflict((oc) => oc.columns(['kind', 'id']).doUpdateSet({ ...changed, version: e.streamVersion, updated_at: e.occurredAt }))
      .execute();
  }
}
