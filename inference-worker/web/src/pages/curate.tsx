// Curate: the review queue of every datanet the account owns or curates. Accept (with a
// quality score), reject (stake and deposit back), or slash (stake to the reward pool) a
// pending contribution, or slash an accepted one while its lock-up (the dispute period) lasts;
// then publish a snapshot.
import { useState } from 'react';
import { useApp } from '../app';
import { bestNumber, sameAccount, submit, UserError } from '../lib/chain';
import { allDatanets, contributionsOf, isAccepted, isPending, statusText, type Contribution, type Datanet } from '../lib/types';
import { Action, Addr, Hash, Loaded, useLoad } from '../ui';

export function Curate() {
  const { chain, account, version } = useApp();
  const queue = useLoad(async () => {
    if (!account) return { best: 0, rows: [] as { d: Datanet; cs: Contribution[] }[] };
    const all = await allDatanets(chain);
    const mine = all.filter((d) => sameAccount(d.owner, account.address) || d.curators.some((c) => sameAccount(c, account.address)));
    const best = await bestNumber(chain);
    const rows = await Promise.all(mine.map(async (d) => ({ d, cs: await contributionsOf(chain, d) })));
    return { best, rows };
  }, [chain, account?.address, version]);
  return (
    <section>
      <h1>Curate</h1>
      <p className="muted">Datanets you own or curate. A contribution you accept enters the next snapshot; models trained on that snapshot pay its contributor.</p>
      {!account && <p role="alert">Choose an account first.</p>}
      <Loaded state={queue}>
        {({ best, rows }) =>
          rows.length === 0 ? (
            <p className="muted">This account curates no datanet.</p>
          ) : (
            <>
              {rows.map(({ d, cs }) => (
                <CurateDatanet key={d.id} d={d} cs={cs} best={best} />
              ))}
            </>
          )
        }
      </Loaded>
    </section>
  );
}

function CurateDatanet({ d, cs, best }: { d: Datanet; cs: Contribution[]; best: number }) {
  const { chain, account, changed } = useApp();
  const pending = cs.filter((c) => isPending(c.status));
  const disputable = cs.filter((c) => isAccepted(c.status) && c.stakeUnlocksAt > best);
  const publish = usePublishSnapshot(d);
  return (
    <div className="card" data-testid={`curate-${d.id}`}>
      <h2>
        <a href={`#/datanets/${d.id}`}>
          #{d.id} {d.name}
        </a>
      </h2>
      <h3>Pending ({pending.length})</h3>
      {pending.length === 0 ? <p className="muted">Nothing to review.</p> : pending.map((c) => <Review key={c.id} c={c} />)}
      {disputable.length > 0 && (
        <>
          <h3>Accepted, still disputable</h3>
          {disputable.map((c) => (
            <div key={c.id} className="row">
              <span>
                #{c.id} <Hash h={c.contentHash} /> {statusText(c.status)}, lock-up until block {c.stakeUnlocksAt}
              </span>
              <Action label={`Slash #${c.id}`} kind="danger" run={verdict(c, 'Slash')} />
            </div>
          ))}
        </>
      )}
      <Action label="Publish a snapshot" kind="primary" run={publish} testId={`curate-publish-${d.id}`} />
    </div>
  );

  function verdict(c: Contribution, v: unknown) {
    return async (progress: (s: string) => void) => {
      if (!account) throw new UserError('Choose an account first.');
      const r = await submit(chain, account, chain.api.tx.datanets.review(c.id, v as never), progress);
      changed();
      return `Done in block ${r.blockNumber}.`;
    };
  }
}

/** The action that publishes `d`'s next snapshot as the signed-in account. */
export function usePublishSnapshot(d: Datanet) {
  const { chain, account, changed } = useApp();
  return async (progress: (s: string) => void) => {
    if (!account) throw new UserError('Choose an account first.');
    const r = await submit(chain, account, chain.api.tx.datanets.publishSnapshot(d.id), progress);
    changed();
    return `Snapshot ${d.snapshotCount + 1} published in block ${r.blockNumber}.`;
  };
}

function Review({ c }: { c: Contribution }) {
  const { chain, account, changed } = useApp();
  const [quality, setQuality] = useState('90');
  const run = (v: unknown, what: string) => async (progress: (s: string) => void) => {
    if (!account) throw new UserError('Choose an account first.');
    const r = await submit(chain, account, chain.api.tx.datanets.review(c.id, v as never), progress);
    changed();
    return `${what} in block ${r.blockNumber}.`;
  };
  const accept = async (progress: (s: string) => void) => {
    const q = Number(quality);
    if (!Number.isInteger(q) || q < 0 || q > 100) throw new UserError('Quality is a whole number from 0 to 100.');
    return run({ Accept: { quality: q } }, `Contribution ${c.id} accepted`)(progress);
  };
  return (
    <div className="review" data-testid={`review-${c.id}`}>
      <div>
        <strong>#{c.id}</strong> by <Addr a={c.contributor} /> · <Hash h={c.contentHash} /> · {c.byteSize.toLocaleString()} bytes · {c.tokenCount} tokens · {c.metadataUri || 'no URI'}
      </div>
      <div className="row">
        <label htmlFor={`q-${c.id}`}>Quality</label>
        <input id={`q-${c.id}`} type="number" min={0} max={100} value={quality} onChange={(e) => setQuality(e.target.value)} className="narrow" />
        <Action label="Accept" kind="primary" run={accept} testId={`accept-${c.id}`} />
        <Action label="Reject" run={run('Reject', `Contribution ${c.id} rejected`)} testId={`reject-${c.id}`} />
        <Action label="Slash" kind="danger" run={run('Slash', `Contribution ${c.id} slashed`)} />
      </div>
    </div>
  );
}
