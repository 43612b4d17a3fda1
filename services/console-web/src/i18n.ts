// Message catalogues (i18next): Latvian by default, English second; the choice sticks in localStorage.
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './locales/en.json';
import lv from './locales/lv.json';

export const LANGUAGES = ['lv', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
const KEY = 'iap-console-language';

function initial(): Language {
  const saved = localStorage.getItem(KEY);
  return saved === 'en' || saved === 'lv' ? saved : 'lv';
}

void i18next.use(initReactI18next).init({
  resources: { lv: { translation: lv }, en: { translation: en } },
  lng: initial(),
  fallbackLng: 'lv',
  interpolation: { escapeValue: false },
});
document.documentElement.lang = i18next.language;

export function setLanguage(lang: Language): void {
  localStorage.setItem(KEY, lang);
  void i18next.changeLanguage(lang);
  document.documentElement.lang = lang;
}

const LOCALES: Record<Language, string> = { lv: 'lv-LV', en: 'en-GB' };
const locale = (): string => LOCALES[(i18next.language as Language) ?? 'lv'] ?? 'lv-LV';

/** Euro amounts per locale: `1 234,50 €` in Latvian. */
export const formatEuro = (amount: number | string): string =>
  new Intl.NumberFormat(locale(), { style: 'currency', currency: 'EUR' }).format(Number(amount));
export const formatDateTime = (iso: string): string => new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
/** A calendar day (YYYY-MM-DD) per locale, without a time zone shifting it. */
export const formatDay = (day: string): string => new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(`${day}T00:00:00Z`));
export const formatNumber = (n: number): string => new Intl.NumberFormat(locale()).format(n);

export default i18next;
