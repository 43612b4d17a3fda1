// Request and response schemas of the register of organisations: partners, municipalities, schools.

import { ORGANISATION_ID_PATTERN, ORGANISATION_NAME_MAX, PARTNER_TYPES } from '@iap/domain';
import { Type, type TSchema } from '@sinclair/typebox';
import { Literals, Text } from './common.js';

export const OrgId = (description?: string) => Type.String({ pattern: ORGANISATION_ID_PATTERN, ...(description ? { description } : {}) });

const Name = Text(ORGANISATION_NAME_MAX, 'the organisation\'s name');
const Active = Type.Optional(Type.Boolean({ description: 'false closes the organisation (its tokens are refused); default true' }));
const Times = { version: Type.Integer({ description: 'the register version that last changed this entry' }), registeredAt: Type.String({ format: 'date-time' }), updatedAt: Type.String({ format: 'date-time' }) };

export const PartnerParams = Type.Object({ partnerId: OrgId() }, { additionalProperties: false });
export const MunicipalityParams = Type.Object({ municipalityId: OrgId() }, { additionalProperties: false });
export const SchoolParams = Type.Object({ schoolId: OrgId() }, { additionalProperties: false });

export const PutPartnerBody = Type.Object(
  { type: Literals(PARTNER_TYPES, 'municipality or state_vocational; fixed once registered'), name: Name, active: Active },
  { additionalProperties: false },
);
export const PutMunicipalityBody = Type.Object(
  { name: Name, partnerId: OrgId('its partner (of type municipality); fixed once registered'), active: Active },
  { additionalProperties: false },
);
export const PutSchoolBody = Type.Object(
  {
    name: Name,
    municipalityId: OrgId('the municipality the school is in'),
    vocationalPartnerId: Type.Optional(
      Type.Union([OrgId(), Type.Null()], { description: "a state vocational school's own partner (of type state_vocational); absent or null for a municipal school" }),
    ),
    active: Active,
  },
  { additionalProperties: false },
);

export const PartnerSchema = Type.Object({ partnerId: Type.String(), type: Literals(PARTNER_TYPES), name: Type.String(), active: Type.Boolean(), ...Times });
export const MunicipalitySchema = Type.Object({ municipalityId: Type.String(), name: Type.String(), partnerId: Type.String(), active: Type.Boolean(), ...Times });
export const SchoolSchema = Type.Object({
  schoolId: Type.String(),
  name: Type.String(),
  municipalityId: Type.String(),
  partnerId: Type.String({ description: "the municipality's partner, or the school's own for a state vocational school" }),
  partnerType: Literals(PARTNER_TYPES),
  active: Type.Boolean(),
  ...Times,
});

const page = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export const PartnerPageSchema = page(PartnerSchema);
export const MunicipalityPageSchema = page(MunicipalitySchema);
export const SchoolPageSchema = page(SchoolSchema);

const paging = {
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1–200, default 50' })),
  cursor: Type.Optional(Type.String({ maxLength: 400, description: 'nextCursor of the previous page' })),
  active: Type.Optional(Literals(['true', 'false'] as const, 'only open (true) or closed (false) entries')),
};
export const ListPartnersQuery = Type.Object({ ...paging, type: Type.Optional(Literals(PARTNER_TYPES)) }, { additionalProperties: false });
export const ListMunicipalitiesQuery = Type.Object({ ...paging, partnerId: Type.Optional(OrgId()) }, { additionalProperties: false });
export const ListSchoolsQuery = Type.Object({ ...paging, municipalityId: Type.Optional(OrgId()), partnerId: Type.Optional(OrgId()) }, { additionalProperties: false });
