// The shell: connection to the node and the worker, the signing account, navigation (hash
// routes, so the static files need no server rewrites) and the pages.
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { connect, errorText, fmtOpen, freeBalance, type Chain } from './lib/chain';
import { devAccounts, injectedAccounts, type Account } from './lib/wallet';
import { Worker } from './lib/worker';
import { Datanets } from './pages/datanets';
import { Contribute } from './pages/contribute';
import { Curate } from './pages/curate';
import { Models } from './pages/models';
import { Factory } from './pages/factory';
import { Chat } from './pages/chat';
import { Rewards } from './pages/rewards';
import { Governance } from './pages/governance';
import { Settings, settings } from './pages/settings';

export interface Ctx {
  chain: Chain;
  worker: Worker;
  account?: Account;
  /** Bumped after every transaction, so pages reload what they show. */
  version: number;
  changed: () => void;
}

const AppContext = createContext<Ctx | null>(null);

export function useApp(): Ctx {
  const c = useContext(AppContext);
  if (!c) throw new Error('useApp outside the app');
  return c;
}

const PAGES: [string, string][] = [
  ['datanets', 'Datanets'],
  ['contribute', 'Contribute'],
  ['curate', 'Curate'],
  ['models', 'Models'],
  ['factory', 'Model Factory'],
  ['chat', 'Chat'],
  ['rewards', 'Rewards'],
  ['governance', 'Governance'],
  ['settings', 'Settings'],
];

function useRoute(): string[] {
  const read = () => (location.hash.replace(/^#\/?/, '') || 'datanets').split('/');
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function App() {
  const route = useRoute();
  const cfg = settings();
  const [chain, setChain] = useState<Chain | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [online, setOnline] = useState(true);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [address, setAddress] = useState<string>(() => sessionStorage.getItem('provena.account') ?? '');
  const [version, setVersion] = useState(0);
  const [note, setFailureNote] = useState<string | null>(null);
  const worker = useMemo(() => new Worker(cfg.worker, cfg.apiKey, cfg.adminKey), [cfg.worker, cfg.apiKey, cfg.adminKey]);

  useEffect(() => {
    let live = true;
    setFailure(null);
    connect(cfg.node).then(
      async (c) => {
        if (!live) return void c.api.disconnect();
        c.provider.on('disconnected', () => setOnline(false));
        c.provider.on('connected', () => setOnline(true));
        setChain(c);
        if (c.dev) setAccounts(await devAccounts(c.ss58));
      },
      (e) => live && setFailure(errorText(e)),
    );
    return () => {
      live = false;
    };
  }, [cfg.node]);

  // An account is its source and address: an extension may hold a dev key too.
  const keyOf = (a: Account) => `${a.source}:${a.address}`;
  const account = accounts.find((a) => keyOf(a) === address) ?? (chain?.dev ? accounts[0] : undefined);
  const [balance, setBalance] = useState<string>('');
  useEffect(() => {
    if (!chain || !account) return;
    freeBalance(chain, account.address).then(
      (b) => setBalance(fmtOpen(b, 2)),
      () => setBalance(''),
    );
  }, [chain, account, version, online]);

  const page = route[0];
  let body: ReactNode;
  if (page === 'settings') body = <Settings />;
  else if (failure) body = <p className="error" role="alert" data-testid="node-error">{failure}</p>;
  else if (!chain) body = <p className="muted" aria-busy="true">Connecting to {cfg.node}…</p>;
  else {
    const p = {
      datanets: <Datanets id={route[1]} />,
      contribute: <Contribute datanet={route[1]} />,
      curate: <Curate />,
      models: <Models id={route[1]} />,
      factory: <Factory />,
      chat: <Chat />,
      rewards: <Rewards />,
      governance: <Governance />,
    }[page];
    body = p ?? <p role="alert">No page "{page}".</p>;
  }

  const connectWallet = async () => {
    if (!chain) return;
    try {
      const more = await injectedAccounts(chain.ss58);
      setAccounts((a) => [...a.filter((x) => x.source !== 'injected'), ...more]);
      // Switch to the extension's first account, unless one of its accounts is already the
      // signer: connecting again (or an account chosen while the extension answered) keeps it.
      const first = more[0];
      if (first) {
        setAddress((current) => {
          const next = more.some((m) => keyOf(m) === current) ? current : keyOf(first);
          sessionStorage.setItem('provena.account', next);
          return next;
        });
      }
    } catch (e) {
      setFailureNote(errorText(e));
    }
  };
  const pick = (a: string) => {
    setAddress(a);
    sessionStorage.setItem('provena.account', a);
  };

  const ctx = chain ? { chain, worker, account, version, changed: () => setVersion((v) => v + 1) } : null;
  return (
    <AppContext.Provider value={ctx}>
      <header>
        <a className="brand" href="#/datanets">
          Provena Studio
        </a>
        <nav aria-label="Pages">
          {PAGES.map(([k, t]) => (
            <a key={k} href={`#/${k}`} aria-current={page === k ? 'page' : undefined}>
              {t}
            </a>
          ))}
        </nav>
        <div className="account">
          {chain && (
            <>
              <label htmlFor="account-select" className="sr-only">
                Signing account
              </label>
              <select id="account-select" value={account ? keyOf(account) : ''} onChange={(e) => pick(e.target.value)} data-testid="account">
                {!account && <option value="">No account</option>}
                {accounts.map((a) => (
                  <option key={keyOf(a)} value={keyOf(a)}>
                    {a.name} {a.address.slice(0, 6)}…
                  </option>
                ))}
              </select>
              {balance && <span className="muted" data-testid="balance">{balance}</span>}
              <button type="button" onClick={connectWallet}>
                Wallet extension
              </button>
            </>
          )}
        </div>
      </header>
      {chain && !online && (
        <p className="banner error" role="alert" data-testid="offline">
          The node at {chain.url} is unreachable; reconnecting… Actions are paused until it is back.
        </p>
      )}
      {note && (
        <p className="banner error" role="alert">
          {note}
        </p>
      )}
      <main>{body}</main>
    </AppContext.Provider>
  );
}
