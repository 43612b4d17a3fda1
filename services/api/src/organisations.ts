// The register as the API reads it: entries from the `organisations` projection, by kind and id, behind a short
// in-process cache (every request's token is checked against it). A register write through this process clears
// the cache; a write through another API process shows here once the entries expire (ttlMs, a few seconds).

import type { Database, OrganisationRow } from '@iap/db';
import type { MunicipalityRecord, OrganisationKind, PartnerRecord, SchoolRecord } from '@iap/domain';
import type { Kysely } from 'kysely';

export const toPartnerRecord = (r: OrganisationRow): PartnerRecord => ({ partnerId: r.id, type: r.partner_type, name: r.name, active: r.active });
export const toMunicipalityRecord = (r: OrganisationRow): MunicipalityRecord => ({
  municipalityId: r.id,
  name: r.name,
  partnerId: r.partner_id,
  active: r.active,
});
export const toSchoolRecord = (r: OrganisationRow): SchoolRecord => ({
  schoolId: r.id,
  name: r.name,
  municipalityId: r.municipality_id ?? '',
  partnerId: r.partner_id,
  partnerType: r.partner_type,
  active: r.active,
});

export interface Lookup {
  readonly school?: string | null;
  readonly municipality?: string | null;
  readonly partner?: string | null;
}

export interface Found {
  readonly school: SchoolRecord | null;
  readonly municipality: MunicipalityRecord | null;
  readonly partner: PartnerRecord | null;
}

export class OrganisationDirectory {
  private readonly cache = new Map<string, { readonly row: OrganisationRow | null; readonly until: number }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly ttlMs = 2_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** The entries for the ids given (null where an id is not registered). */
  async find(ids: Lookup): Promise<Found> {
    const wanted = (['school', 'municipality', 'partner'] as const).flatMap((kind) => {
      const id = ids[kind];
      return typeof id === 'string' ? [{ kind, id }] : [];
    });
    const rows = await this.rows(wanted);
    const row = (kind: OrganisationKind) => rows.get(`${kind}\u0000${ids[kind] ?? ''}`) ?? null;
    const s = row('school');
    const m = row('municipality');
    const p = row('partner');
    return { school: s && toSchoolRecord(s), municipality: m && toMunicipalityRecord(m), partner: p && toPartnerRecord(p) };
  }

  /** Forgets every cached entry (after a register write through this process). */
  invalidate(): void {
    this.cache.clear();
  }

  private async rows(wanted: ReadonlyArray<{ kind: OrganisationKind; id: string }>): Promise<Map<string, OrganisationRow | null>> {
    const now = Date.now();
    const out = new Map<string, OrganisationRow | null>();
    const missing: Array<{ kind: OrganisationKind; id: string }> = [];
    for (const w of wanted) {
      const key = `${w.kind}\u0000${w.id}`;
      const hit = this.cache.get(key);
      if (hit && hit.until > now) out.set(key, hit.row);
      else missing.push(w);
    }
    if (missing.length === 0) return out;
    const found = await this.db
      .selectFrom('organisations')
      .selectAll()
      .where((eb) => eb.or(missing.map((w) => eb.and([eb('kind', '=', w.kind), eb('id', '=', w.id)]))))
      .execute();
    // A token naming made-up ids must not grow the cache without bound.
    if (this.cache.size + missing.length > this.maxEntries) this.cache.clear();
    const until = Date.now() + this.ttlMs;
    for (const w of missing) {
      const key = `${w.kind}\u0000${w.id}`;
      const row = found.find((r) => r.kind === w.kind && r.id === w.id) ?? null;
      out.set(key, row);
      this.cache.set(key, { row, until });
    }
    return out;
  }
}
