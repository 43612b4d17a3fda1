// The register of organisations over HTTP: national staff register and change partners, municipalities and
// schools (PUT, idempotent; closing is `active: false`, nothing is deleted); every caller reads what the domain's
// organisationFilter lets it (school staff their school, a municipality coordinator the municipality, its
// schools and partner, finance staff what is under their partner, national staff and auditors everything).
// Writes go to the register's workflow only; reads come from its projection.

import type { Database, OrganisationRow } from '@iap/db';
import { maySeeOrganisation, organisationFilter, REGISTER_KEEPERS, type OrganisationCommand, type OrganisationKind } from '@iap/domain';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static, TSchema } from '@sinclair/typebox';
import { sql, type Kysely } from 'kysely';
import { decodeCursor, exactTime, expectedVersionOf, pageSize, splitPage } from '../http.js';
import type { Idempotency } from '../idempotency.js';
import { toMunicipalityRecord, toPartnerRecord, toSchoolRecord, type OrganisationDirectory } from '../organisations.js';
import type { PlanGateway } from '../plan-gateway.js';
import type { RequestActor } from '../plugins/auth.js';
import { HttpProblem, problemResponses } from '../problem.js';
import {
  ListMunicipalitiesQuery,
  ListPartnersQuery,
  ListSchoolsQuery,
  MunicipalityPageSchema,
  MunicipalityParams,
  MunicipalitySchema,
  PartnerPageSchema,
  PartnerParams,
  PartnerSchema,
  PutMunicipalityBody,
  PutPartnerBody,
  PutSchoolBody,
  SchoolPageSchema,
  SchoolParams,
  SchoolSchema,
} from '../schemas/organisations.js';
import { CommandHeaders } from '../schemas/plan-commands.js';
import { commandMeta } from './plans.js';

export interface OrganisationRoutesOptions {
  readonly db: Kysely<Database>;
  readonly plans: PlanGateway;
  readonly organisations: OrganisationDirectory;
  readonly idempotency: Idempotency;
}

const times = (r: OrganisationRow) => ({ version: r.version, registeredAt: r.registered_at.toISOString(), updatedAt: r.updated_at.toISOString() });
const toPartnerDto = (r: OrganisationRow) => ({ ...toPartnerRecord(r), ...times(r) });
const toMunicipalityDto = (r: OrganisationRow) => ({ ...toMunicipalityRecord(r), ...times(r) });
const toSchoolDto = (r: OrganisationRow) => ({ ...toSchoolRecord(r), ...times(r) });

const refOf = (r: OrganisationRow) => ({ kind: r.kind, id: r.id, municipalityId: r.municipality_id, partnerId: r.partner_id });

interface KindRoutes {
  readonly kind: OrganisationKind;
  readonly path: string;
  readonly idParam: string;
  readonly params: TSchema;
  readonly body: TSchema;
  readonly item: TSchema;
  readonly page: TSchema;
  readonly query: TSchema;
  readonly plural: string;
  toDto(r: OrganisationRow): unknown;
  toCommand(id: string, body: unknown): OrganisationCommand;
  /** The list's own filters, as column equalities. */
  filters(q: Record<string, string | undefined>): ReadonlyArray<readonly ['partner_type' | 'municipality_id' | 'partner_id', string | undefined]>;
}

const KINDS: readonly KindRoutes[] = [
  {
    kind: 'partner',
    path: '/organisations/partners',
    idParam: 'partnerId',
    params: PartnerParams,
    body: PutPartnerBody,
    item: PartnerSchema,
    page: PartnerPageSchema,
    query: ListPartnersQuery,
    plural: 'partners',
    toDto: toPartnerDto,
    toCommand: (id, b) => {
      const body = b as Static<typeof PutPartnerBody>;
      return { type: 'PutPartner', data: { partnerId: id, type: body.type, name: body.name, active: body.active ?? true } };
    },
    filters: (q) => [['partner_type', q.type]],
  },
  {
    kind: 'municipality',
    path: '/organisations/municipalities',
    idParam: 'municipalityId',
    params: MunicipalityParams,
    body: PutMunicipalityBody,
    item: MunicipalitySchema,
    page: MunicipalityPageSchema,
    query: ListMunicipalitiesQuery,
    plural: 'municipalities',
    toDto: toMunicipalityDto,
    toCommand: (id, b) => {
      const body = b as Static<typeof PutMunicipalityBody>;
      return { type: 'PutMunicipality', data: { municipalityId: id, name: body.name, partnerId: body.partnerId, active: body.active ?? true } };
    },
    filters: (q) => [['partner_id', q.partnerId]],
  },
  {
    kind: 'school',
    path: '/organisations/schools',
    idParam: 'schoolId',
    params: SchoolParams,
    body: PutSchoolBody,
    item: SchoolSchema,
    page: SchoolPageSchema,
    query: ListSchoolsQuery,
    plural: 'schools',
    toDto: toSchoolDto,
    toCommand: (id, b) => {
      const body = b as Static<typeof PutSchoolBody>;
      return {
        type: 'PutSchool',
        data: { schoolId: id, name: body.name, municipalityId: body.municipalityId, vocationalPartnerId: body.vocationalPartnerId ?? null, active: body.active ?? true },
      };
    },
    filters: (q) => [
      ['municipality_id', q.municipalityId],
      ['partner_id', q.partnerId],
    ],
  },
];

const FILTER_COLUMN = { id: 'id', municipalityId: 'municipality_id', partnerId: 'partner_id' } as const;

export const organisationRoutes: FastifyPluginAsyncTypebox<OrganisationRoutesOptions> = async (app, { db, plans, organisations, idempotency }) => {
  app.addHook('onRequest', app.authenticate);

  async function visible(actor: RequestActor, kind: OrganisationKind, id: string): Promise<OrganisationRow | undefined> {
    const row = await db.selectFrom('organisations').selectAll().where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
    return row && maySeeOrganisation(actor.role, actor, refOf(row)) ? row : undefined;
  }

  for (const k of KINDS) {
    app.get(
      k.path,
      {
        schema: {
          tags: ['organisations'],
          operationId: `list${k.plural.charAt(0).toUpperCase()}${k.plural.slice(1)}`,
          summary: `The register's ${k.plural} the caller may read, oldest registration first`,
          security: [{ bearerAuth: [] }],
          querystring: k.query,
          response: { 200: k.page, ...problemResponses(400, 401) },
        },
      },
      async (request, reply) => {
        const q = request.query as Record<string, string | undefined>;
        const limit = pageSize(q.limit);
        const cursor = q.cursor !== undefined ? decodeCursor(q.cursor) : null;
        const filter = organisationFilter(request.actor.role, request.actor, k.kind);
        if (filter === 'none') return reply.send({ items: [], nextCursor: null });
        let query = db.selectFrom('organisations').selectAll().select(exactTime('registered_at').as('cursor_time')).where('kind', '=', k.kind);
        if (filter !== 'all') query = query.where(FILTER_COLUMN[filter.column], '=', filter.value);
        for (const [column, value] of k.filters(q)) if (value !== undefined) query = query.where(column, '=', value);
        if (q.active !== undefined) query = query.where('active', '=', q.active === 'true');
        if (cursor) query = query.where(sql<boolean>`(registered_at, id) > (${cursor.t}::timestamptz, ${cursor.id})`);
        const rows = await query.orderBy('registered_at', 'asc').orderBy('id', 'asc').limit(limit + 1).execute();
        const { page, nextCursor } = splitPage(rows, limit, (r) => ({ t: r.cursor_time, id: r.id }));
        return reply.send({ items: page.map(k.toDto), nextCursor });
      },
    );

    app.get(
      `${k.path}/:${k.idParam}`,
      {
        schema: {
          tags: ['organisations'],
          operationId: `get${k.kind.charAt(0).toUpperCase()}${k.kind.slice(1)}`,
          summary: `One ${k.kind} of the register`,
          security: [{ bearerAuth: [] }],
          params: k.params,
          response: { 200: k.item, ...problemResponses(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const id = (request.params as Record<string, string>)[k.idParam]!;
        const row = await visible(request.actor, k.kind, id);
        if (!row) throw new HttpProblem(404, 'not_found', `no such ${k.kind}`);
        return reply.header('etag', `"${row.version}"`).send(k.toDto(row));
      },
    );

    app.put(
      `${k.path}/:${k.idParam}`,
      {
        schema: {
          tags: ['organisations'],
          operationId: `put${k.kind.charAt(0).toUpperCase()}${k.kind.slice(1)}`,
          summary: `Register a ${k.kind} or change it (national coordinator)`,
          description:
            'Idempotent: the same body again changes nothing. If-Match takes the version of the whole register (any ETag this route gave), so a change made meanwhile refuses the write (412).',
          security: [{ bearerAuth: [] }],
          headers: CommandHeaders,
          params: k.params,
          body: k.body,
          response: { 200: k.item, ...problemResponses(400, 401, 403, 409, 412, 422, 503) },
        },
      },
      async (request, reply) => {
        const actor = request.actor;
        // Before anything is looked up: another role learns nothing of the register from a write.
        if (!REGISTER_KEEPERS.includes(actor.role)) {
          throw new HttpProblem(403, 'organisation.forbidden_role', `only national staff keep the register; a ${actor.role} may not`, { code: 'organisation.forbidden_role' });
        }
        const id = (request.params as Record<string, string>)[k.idParam]!;
        const headers = request.headers as Static<typeof CommandHeaders>;
        const expectedVersion = expectedVersionOf(headers['if-match']);
        return idempotency.run(request, reply, async ({ updateId }) => {
          const result = await plans.registerCommand(k.toCommand(id, request.body), { ...commandMeta(actor, request.id, expectedVersion, updateId), schoolId: null }, updateId);
          organisations.invalidate();
          const row = await db.selectFrom('organisations').selectAll().where('kind', '=', k.kind).where('id', '=', id).executeTakeFirstOrThrow();
          request.log.info({ kind: k.kind, id, version: result.version, changed: result.changed }, 'register entry written');
          return { status: 200, headers: { etag: `"${result.version}"` }, body: k.toDto(row) };
        });
      },
    );
  }
};
