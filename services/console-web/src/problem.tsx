// A refusal, in the user's language: known kinds by name, anything else with the API's own reason.
import i18next, { type TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { problemSlug, type Problem } from './api/client.js';

export function problemText(t: TFunction, p: Problem | undefined): string {
  const slug = problemSlug(p);
  const status = p?.status ?? 0;
  // A domain refusal the catalogues name (e.g. learner.not_registered), in the user's language.
  const code = p?.code ?? slug;
  if (code && i18next.exists(`error.codes.${code}`)) return t(`error.codes.${code}`);
  if (status === 404) return t('error.not_found');
  if (status === 412) return t('error.precondition_failed');
  if (slug === 'csrf') return t('error.csrf');
  if (status === 401) return t('error.unauthenticated');
  if (status === 403 && slug === 'forbidden') return t('error.forbidden');
  if (status === 400 || status === 422) return t('error.validation', { detail: p?.detail ?? '' });
  return t('error.generic', { detail: p?.detail ?? String(status) });
}

export function ProblemAlert({ problem }: { problem: Problem | null | undefined }) {
  const { t } = useTranslation();
  if (!problem) return null;
  return (
    <p role="alert" className="alert">
      {problemText(t, problem)}
    </p>
  );
}
