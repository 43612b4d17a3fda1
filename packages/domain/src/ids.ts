// Identifiers and value types shared by every part of the system. A learner is only ever a pseudonymous
// reference here: names and personal codes live in a separate, encrypted identity store.

export type PlanId = string;
export type SchoolId = string;
export type MunicipalityId = string;
export type PartnerId = string;
/** Pseudonymous learner id: never a name or personal code. */
export type LearnerRef = string;

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const uuidRe = new RegExp(UUID_PATTERN);
export const isUuid = (s: string): boolean => uuidRe.test(s);

/** Partners are municipalities or state vocational schools (the latter skip municipal approval). */
export type PartnerType = 'municipality' | 'state_vocational';
export const PARTNER_TYPES: readonly PartnerType[] = ['municipality', 'state_vocational'];

export interface Partner {
  readonly type: PartnerType;
  readonly id: PartnerId;
}
