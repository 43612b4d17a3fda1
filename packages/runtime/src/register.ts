// Registers the organisations token subjects name, through the API's register routes with a national
// coordinator's token: what the launcher's demo, `iap simulate` and the test harness do so that their tokens
// pass the API's check against the register. Municipal partners are named after their municipality (the
// programme's partners are the municipalities themselves); a state vocational school's partner is its own.

import type { TokenSubject } from './tokens.js';

export type Scope = Pick<TokenSubject, 'school' | 'municipality' | 'partner' | 'partnerType'>;

/** One HTTP call: how the caller reaches the API (fetch against a URL, or Fastify's inject in tests). */
export type Send = (method: 'PUT', url: string, body: unknown, headers: Record<string, string>) => Promise<{ status: number; body: string }>;

export interface RegisterPut {
  readonly url: string;
  readonly body: Record<string, unknown>;
}

/** The PUTs that register every organisation the scopes name, partners first, then municipalities, then schools. */
export function registerPutsFor(scopes: readonly Scope[]): RegisterPut[] {
  const partners = new Map<string, 'municipality' | 'state_vocational'>();
  const municipalities = new Map<string, string>();
  const schools = new Map<string, { municipalityId: string; vocationalPartnerId: string | null }>();
  for (const s of scopes) {
    const vocational = s.partnerType === 'state_vocational';
    if (s.partner) partners.set(s.partner, vocational ? 'state_vocational' : 'municipality');
    const municipality = s.municipality ?? (s.partner && !vocational ? s.partner : undefined);
    if (municipality) {
      const partner = vocational || !s.partner ? municipality : s.partner;
      if (!partners.has(partner)) partners.set(partner, 'municipality');
      municipalities.set(municipality, partner);
      if (s.school) schools.set(s.school, { municipalityId: municipality, vocationalPartnerId: vocational ? (s.partner ?? null) : null });
    }
  }
  return [
    ...[...partners].map(([id, type]) => ({ url: `/organisations/partners/${encodeURIComponent(id)}`, body: { type, name: `Partner ${id}` } })),
    ...[...municipalities].map(([id, partnerId]) => ({ url: `/organisations/municipalities/${encodeURIComponent(id)}`, body: { name: `Municipality ${id}`, partnerId } })),
    ...[...schools].map(([id, s]) => ({ url: `/organisations/schools/${encodeURIComponent(id)}`, body: { name: `School ${id}`, ...s } })),
  ];
}

/** Registers the scopes' organisations (a PUT of what is registered already changes nothing). */
export async function registerScopes(send: Send, nationalToken: string, scopes: readonly Scope[]): Promise<void> {
  for (const put of registerPutsFor(scopes)) {
    const res = await send('PUT', put.url, put.body, { authorization: `Bearer ${nationalToken}`, 'content-type': 'application/json' });
    if (res.status !== 200) throw new Error(`registering ${put.url} failed: ${res.status} ${res.body}`);
  }
}

/** A Send over fetch to an API at `baseUrl`. */
export const fetchSend =
  (baseUrl: string): Send =>
  async (method, url, body, headers) => {
    const res = await fetch(`${baseUrl}${url}`, { method, headers, body: JSON.stringify(body) });
    return { status: res.status, body: await res.text() };
  };
