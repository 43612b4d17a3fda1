// The console's shell: who is signed in, the language switch, the menu for the user's role, the page.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { loadSession, signOut, type SessionUser } from './api/client.js';
import { LANGUAGES, setLanguage, type Language } from './i18n.js';
import { Inbox, LEVEL_OF_ROLE } from './pages/Inbox.js';
import { NewPlan } from './pages/NewPlan.js';
import { PlanPage } from './pages/PlanPage.js';
import { Plans } from './pages/Plans.js';
import { Reports } from './pages/Reports.js';
import { Link, useLocation } from './router.js';

export function App() {
  const { t, i18n } = useTranslation();
  const [user, setUser] = useState<SessionUser | null | undefined>(undefined);
  const location = useLocation();
  useEffect(() => {
    loadSession().then(setUser, () => setUser(null));
  }, []);
  useEffect(() => {
    document.title = t('app.title');
  }, [t, i18n.language]);

  const languageSwitch = (
    <div className="lang" role="group" aria-label={t('app.language')}>
      {LANGUAGES.map((l: Language) => (
        <button key={l} type="button" aria-pressed={i18n.language === l} onClick={() => setLanguage(l)} lang={l}>
          {l === 'lv' ? 'Latviešu' : 'English'}
        </button>
      ))}
    </div>
  );

  if (user === undefined) return <p className="loading">{t('app.loading')}</p>;
  if (user === null) {
    const failed = location.searchParams.has('signin');
    const returnTo = location.pathname === '/' ? '/' : location.pathname + location.search;
    return (
      <main id="main" className="signin">
        {languageSwitch}
        <h1>{t('app.title')}</h1>
        {failed && <p role="alert" className="alert">{t('app.signInFailed')}</p>}
        <p>{t('app.signedOut')}</p>
        <a className="button" href={`/auth/login?returnTo=${encodeURIComponent(returnTo)}`}>
          {t('app.signIn')}
        </a>
      </main>
    );
  }

  const level = LEVEL_OF_ROLE[user.role];
  const path = location.pathname;
  let page;
  const planMatch = /^\/plans\/([0-9a-f-]{36})$/.exec(path);
  if (path === '/plans/new') page = <NewPlan />;
  else if (planMatch) page = <PlanPage planId={planMatch[1]!} user={user} />;
  else if (path === '/inbox' && level) page = <Inbox level={level} />;
  else if (path === '/reports') page = <Reports />;
  else if (level && path === '/') page = <Inbox level={level} />;
  else page = <Plans />;

  return (
    <>
      <a className="skip" href="#main">
        {t('app.skip')}
      </a>
      <header>
        <span className="brand">{t('app.title')}</span>
        <nav aria-label={t('app.nav')}>
          {level && <Link href="/inbox">{t('nav.inbox')}</Link>}
          <Link href="/plans">{t('nav.plans')}</Link>
          {(user.role === 'preparer' || user.role === 'school_director') && <Link href="/plans/new">{t('nav.newPlan')}</Link>}
          <Link href="/reports">{t('nav.reports')}</Link>
        </nav>
        <span className="who">
          {user.name} · {t(`role.${user.role}`)}
          {user.school ? ` · ${user.school}` : user.municipality ? ` · ${user.municipality}` : ''}
        </span>
        {languageSwitch}
        <button type="button" onClick={() => void signOut()}>
          {t('app.signOut')}
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
