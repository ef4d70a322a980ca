// Models: the registry, one model's provenance (model → snapshots → contributions), its price
// and its token on the bonding curve (price chart, buy and sell with a slippage bound), and
// registering a model (the worker's base model by default).
import { useState } from 'react';
import { useApp } from '../app';
import { bestNumber, eventData, fmtOpen, fmtPrice, parseOpen, rpc, sameAccount, submit, UserError } from '../lib/chain';
import { allModels, type Model, type Snapshot } from '../lib/types';
import { Action, Addr, Badge, Field, Hash, Loaded, Open, Plot, useLoad } from '../ui';
import { Provenance } from './provenance';

export function Models({ id }: { id?: string }) {
  return id === undefined ? <ModelList /> : <ModelDetail id={Number(id)} />;
}

function kindText(kind: unknown): string {
  if (kind === 'Base' || (typeof kind === 'object' && kind !== null && 'base' in (kind as object) && Object.keys(kind as object).length === 1)) return 'base';
  if (typeof kind === 'object' && kind !== null) {
    const k = kind as Record<string, Record<string, unknown>>;
    const a = k.adapter ?? k.Adapter;
    if (a) return `LoRA adapter over model ${String(a.base)} (rank ${String(a.rank)})`;
    return Object.keys(k)[0] ?? 'model';
  }
  return String(kind);
}

function ModelList() {
  const { chain, version } = useApp();
  const list = useLoad(() => allModels(chain), [chain, version]);
  return (
    <section>
      <h1>Models</h1>
      <Loaded state={list}>
        {(ms) =>
          ms.length === 0 ? (
            <p className="muted">No model is registered yet.</p>
          ) : (
            <div className="table-wrap">
              <table data-testid="model-list">
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Owner</th>
                    <th scope="col">Price / 1k tokens</th>
                    <th scope="col">Trained on</th>
                  </tr>
                </thead>
                <tbody>
                  {ms.map((m) => (
                    <tr key={m.id}>
                      <td>
                        <a href={`#/models/${m.id}`}>Model {m.id}</a>
                      </td>
                      <td>{kindText(m.kind)}</td>
                      <td>
                        <Addr a={m.owner} />
                      </td>
                      <td>
                        <Open v={m.pricePer1kTokens} />
                      </td>
                      <td>{m.trainedOn.map(([d, v]) => `datanet ${d} v${v}`).join(', ') || '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
      <RegisterModel />
    </section>
  );
}

function RegisterModel() {
  const { chain, worker, account, changed } = useApp();
  const health = useLoad(() => worker.health(), [worker]);
  const [weights, setWeights] = useState('');
  const [snapshots, setSnapshots] = useState('');
  const [price, setPrice] = useState('1');
  const [share, setShare] = useState('40');
  const [uri, setUri] = useState('');
  const register = async (progress: (s: string) => void) => {
    if (!account) throw new UserError('Choose an account first.');
    const w = (weights || health.data?.base_hash || '').trim();
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(w)) throw new UserError('The weights hash is 32 bytes of hex (the content hash of the weights file).');
    const trainedOn: [number, number][] = [];
    for (const part of snapshots.split(',').map((s) => s.trim()).filter(Boolean)) {
      const m = /^(\d+)\s*[:v@ ]\s*v?(\d+)$/.exec(part);
      if (!m) throw new UserError(`"${part}" is not a snapshot: write datanet:version, e.g. 0:1.`);
      const snap = await rpc<Snapshot | null>(chain, 'datanets_getSnapshot', [Number(m[1]), Number(m[2])]);
      if (!snap) throw new UserError(`Datanet ${m[1]} has no snapshot ${m[2]}.`);
      trainedOn.push([Number(m[1]), Number(m[2])]);
    }
    const pct = Number(share);
    if (!(pct >= 0 && pct <= 100)) throw new UserError('The developer share is a percentage from 0 to 100.');
    const tx = chain.api.tx.models.registerModel('Base', w.startsWith('0x') ? w : `0x${w}`, '0x' + '00'.repeat(32), trainedOn, parseOpen(price, 'price'), Math.round(pct * 10_000), uri.trim(), null);
    const r = await submit(chain, account, tx, progress);
    const ev = eventData(r, 'models', 'ModelRegistered');
    changed();
    return `Registered as model ${String(ev?.model ?? '?')} in block ${r.blockNumber}.`;
  };
  return (
    <details className="card" open>
      <summary>
        <h2>Register a model</h2>
      </summary>
      <p className="muted">
        A base model is its weights' content hash. {health.data ? `The worker serves ${health.data.model}; leave the hash empty to register it.` : health.error ? `(${health.error})` : ''}
      </p>
      <div className="grid">
        <Field label="Weights hash" value={weights} onChange={setWeights} placeholder={health.data?.base_hash ?? '0x…'} testId="model-weights" />
        <Field label="Trained on snapshots" value={snapshots} onChange={setSnapshots} placeholder="datanet:version, e.g. 0:1" testId="model-snapshots" />
        <Field label="Price per 1,000 tokens (OPEN)" value={price} onChange={setPrice} testId="model-price" />
        <Field label="Developer share (%)" value={share} onChange={setShare} hint="Of the model's 30%; the rest goes to its token holders." />
        <Field label="Metadata URI" value={uri} onChange={setUri} />
      </div>
      <Action label="Register model" kind="primary" run={register} testId="model-register" />
    </details>
  );
}

interface Token {
  params: { totalSupply: string; curveSupply: string; virtualNative: string; virtualTokens: string };
  state: { sold: string; reserve: string };
  phase: unknown;
  spotPrice: string;
  feePpm: number;
  holders: number;
}

function ModelDetail({ id }: { id: number }) {
  const { chain, account, version, changed } = useApp();
  const data = useLoad(async () => {
    const m = await rpc<Model | null>(chain, 'models_getModel', [id]);
    if (!m) throw new UserError(`There is no model ${id}.`);
    const token = await rpc<Token | null>(chain, 'models_getToken', [id]);
    return { m, token };
  }, [chain, id, version]);
  return (
    <section>
      <p>
        <a href="#/models">← All models</a>
      </p>
      <Loaded state={data}>
        {({ m, token }) => {
          const launch = async (progress: (s: string) => void) => {
            if (!account) throw new UserError('Choose an account first.');
            await submit(chain, account, chain.api.tx.models.launchToken(m.id), progress);
            changed();
            return 'Token launched.';
          };
          return (
            <>
              <h1 data-testid="model-title">Model {m.id}</h1>
              <dl className="facts">
                <dt>Kind</dt>
                <dd>{kindText(m.kind)}</dd>
                <dt>Owner</dt>
                <dd>
                  <Addr a={m.owner} />
                </dd>
                <dt>Weights</dt>
                <dd>
                  <Hash h={m.weightsHash} />
                </dd>
                <dt>Price</dt>
                <dd>
                  <Open v={m.pricePer1kTokens} /> per 1,000 tokens; developer share {(m.developerSharePpm / 10_000).toFixed(1)}%
                </dd>
              </dl>
              <h2>Provenance</h2>
              <Provenance model={m} />
              <h2>Token</h2>
              {token ? <TokenPanel model={m.id} token={token} /> : sameAccount(m.owner, account?.address ?? '') ? <Action label="Launch the model's token" run={launch} testId="token-launch" /> : <p className="muted">Its owner has not launched a token.</p>}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

/** Spot price (OPEN per token) at `sold` on a constant-product curve over virtual reserves. */
function priceAt(t: Token, sold: number): number {
  const vn = Number(BigInt(t.params.virtualNative)) / 1e18;
  const vt = Number(BigInt(t.params.virtualTokens)) / 1e18;
  const k = vn * vt;
  const y = vt - sold;
  return k / (y * y);
}

function TokenPanel({ model, token }: { model: number; token: Token }) {
  const { chain, account, changed } = useApp();
  const [amount, setAmount] = useState('1');
  const [slippage, setSlippage] = useState('1');
  // The quote the user saw: a trade is bounded by it (plus slippage), as on any exchange.
  const [quote, setQuote] = useState<{ side: 'buy' | 'sell'; amount: string; value: bigint; fee: bigint } | null>(null);
  const curveSupply = Number(BigInt(token.params.curveSupply)) / 1e18;
  const sold = Number(BigInt(token.state.sold)) / 1e18;
  const points: [number, number][] = Array.from({ length: 41 }, (_, i) => {
    const s = (curveSupply * i) / 40;
    return [Math.round(s), priceAt(token, s)];
  });
  const fetchQuote = async (side: 'buy' | 'sell') => {
    const tokens = parseOpen(amount, 'token amount');
    if (tokens === 0n) throw new UserError('Enter how many tokens.');
    let q: { traderAmount: string; fee: string };
    try {
      q = await rpc(chain, side === 'buy' ? 'models_quoteBuy' : 'models_quoteSell', [model, tokens.toString()]);
    } catch (e) {
      const t = e instanceof Error ? e.message : String(e);
      if (/ZeroAmount/.test(t)) throw new UserError('Too small: a trade must be worth at least 0.01 OPEN.');
      if (/ExceedsCurveSupply/.test(t)) throw new UserError('More than the curve has left to sell.');
      if (/ExceedsSold/.test(t)) throw new UserError('More than has been sold on the curve.');
      throw e;
    }
    const out = { side, amount, value: BigInt(q.traderAmount), fee: BigInt(q.fee) };
    setQuote(out);
    return out;
  };
  const trade = (side: 'buy' | 'sell') => async (progress: (s: string) => void) => {
    if (!account) throw new UserError('Choose an account first.');
    const pct = Number(slippage);
    if (!(pct >= 0 && pct <= 50)) throw new UserError('Slippage is a percentage from 0 to 50.');
    const q = quote && quote.side === side && quote.amount === amount ? quote : await fetchQuote(side);
    const tokens = parseOpen(amount, 'token amount');
    const bps = BigInt(Math.round(pct * 100));
    const deadline = (await bestNumber(chain)) + 20;
    const tx =
      side === 'buy'
        ? chain.api.tx.models.buy(model, tokens, (q.value * (10_000n + bps)) / 10_000n, deadline)
        : chain.api.tx.models.sell(model, tokens, (q.value * (10_000n - bps)) / 10_000n, deadline);
    try {
      await submit(chain, account, tx, progress);
    } catch (e) {
      if (/SlippageExceeded/.test(String(e instanceof Error ? e.message : e))) {
        setQuote(null);
        changed();
        throw new UserError(`The price moved more than ${pct}% since the quote (${fmtOpen(q.value)}); nothing was traded. Quote again or allow more slippage.`);
      }
      throw e;
    }
    setQuote(null);
    changed();
    return `${side === 'buy' ? 'Bought' : 'Sold'} ${amount} tokens for ${side === 'buy' ? 'at most' : 'at least'} ${fmtOpen(q.value)}.`;
  };
  return (
    <div className="card" data-testid="token">
      <p>
        Spot price <span className="amount" data-testid="spot-price">{fmtPrice(token.spotPrice)}</span> per token · {token.holders} holder(s) · {sold.toLocaleString()} of {curveSupply.toLocaleString()} sold on the curve · phase{' '}
        <Badge text={typeof token.phase === 'string' ? token.phase : Object.keys(token.phase as object)[0]} />
      </p>
      <Plot
        points={points}
        title="Bonding curve: price per token as tokens sell"
        xLabel="tokens sold"
        yLabel="OPEN per token"
        fmtY={(y) => y.toPrecision(3)}
        testId="curve-plot"
        mark={{ at: [sold, priceAt(token, sold)], label: 'now' }}
      />
      <div className="grid">
        <Field label="Tokens" value={amount} onChange={setAmount} testId="token-amount" />
        <Field label="Slippage (%)" value={slippage} onChange={setSlippage} hint="The trade fails, costing only its fee, if the price moves more than this from the quote." testId="token-slippage" />
      </div>
      <Action label="Quote a buy" run={async () => { const q = await fetchQuote('buy'); return `Buying ${q.amount} costs ${fmtOpen(q.value)} (fee ${fmtOpen(q.fee)} included).`; }} testId="token-quote" />
      <Action label="Buy" kind="primary" run={trade('buy')} testId="token-buy" />
      <Action label="Sell" run={trade('sell')} testId="token-sell" />
    </div>
  );
}
