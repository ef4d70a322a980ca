// Rewards: what the account earned, per contribution and per model it owns, as a table and as
// cumulative earnings over blocks; claim what is claimable (the receipts' challenge windows
// have passed) in one transaction.
import { useApp } from '../app';
import { bestNumber, fmtOpen, rpc, rpcAddress, sameAccount, submit, UserError } from '../lib/chain';
import { allModels, paidTo, type Receipt, type RewardInfo } from '../lib/types';
import { Action, Loaded, Open, Plot, useLoad } from '../ui';

interface AccountRewards {
  account: RewardInfo;
  agent: RewardInfo;
  contributions: ({ contribution: number } & RewardInfo)[];
}

export function Rewards() {
  const { chain, account, version, changed } = useApp();
  const data = useLoad(async () => {
    if (!account) return null;
    const who = rpcAddress(account.address);
    const rewards = await rpc<AccountRewards>(chain, 'attribution_getRewards', [who]);
    // Earnings over time: every receipt crediting one of the account's contributions.
    const events: [number, bigint][] = [];
    // What the contributions earned from each model's answers.
    const byModel = new Map<number, { receipts: number; earned: bigint }>();
    for (const c of rewards.contributions) {
      const rs = await rpc<Receipt[]>(chain, 'attribution_getReceiptsByContribution', [c.contribution, 0, 10_000, 200]);
      for (const r of rs) {
        const v = paidTo(r, c.contribution);
        if (v === 0n) continue;
        events.push([Number(r.submittedAt), v]);
        const m = byModel.get(r.model) ?? { receipts: 0, earned: 0n };
        byModel.set(r.model, { receipts: m.receipts + 1, earned: m.earned + v });
      }
    }
    // Models the account develops: their developer payouts land in `account`.
    const models = (await allModels(chain)).filter((m) => sameAccount(m.owner, account.address));
    return { rewards, events: events.sort((a, b) => a[0] - b[0]), models, byModel: [...byModel].sort((a, b) => a[0] - b[0]), best: await bestNumber(chain) };
  }, [chain, account?.address, version]);

  return (
    <section>
      <h1>Rewards</h1>
      {!account && <p role="alert">Choose an account first.</p>}
      <Loaded state={data}>
        {(d) => {
          if (!d) return null;
          const { rewards, events, models, byModel, best } = d;
          // A step line: nothing before the first receipt, each receipt's credit added at its
          // block, flat to the best block.
          let sum = 0n;
          const points: [number, number][] = [];
          for (const [b, v] of events) {
            points.push([b, Number(sum) / 1e18]);
            sum += v;
            points.push([b, Number(sum) / 1e18]);
          }
          if (points.length) {
            points.unshift([Math.max(0, events[0][0] - 10), 0]);
            points.push([Math.max(best, events[events.length - 1][0] + 1), Number(sum) / 1e18]);
          }
          const claimable = rewards.contributions.filter((c) => BigInt(c.claimable) > 0n);
          const total = claimable.reduce((a, c) => a + BigInt(c.claimable), 0n) + BigInt(rewards.account.claimable);
          const claim = async (progress: (s: string) => void) => {
            if (!account) throw new UserError('Choose an account first.');
            const payees: unknown[] = claimable.map((c) => ({ Contribution: c.contribution }));
            if (BigInt(rewards.account.claimable) > 0n) payees.push({ Account: account.address });
            if (payees.length === 0) throw new UserError('Nothing is claimable yet: rewards become claimable when their receipts\' challenge windows end.');
            const r = await submit(chain, account, chain.api.tx.attribution.claimRewards(payees as never), progress);
            changed();
            return `Claimed ${fmtOpen(total)} in block ${r.blockNumber}.`;
          };
          return (
            <>
              <p>
                Claimable now: <strong data-testid="claimable-total"><Open v={total} /></strong>
              </p>
              <Action label="Claim rewards" kind="primary" run={claim} disabled={total === 0n} testId="claim" />
              <h2>Per contribution</h2>
              {rewards.contributions.length === 0 ? (
                <p className="muted">None of this account's contributions has earned anything yet.</p>
              ) : (
                <div className="table-wrap">
                  <table data-testid="rewards-table">
                    <thead>
                      <tr>
                        <th scope="col">Contribution</th>
                        <th scope="col">Earned</th>
                        <th scope="col">Claimed</th>
                        <th scope="col">Claimable</th>
                        <th scope="col">In challenge window</th>
                      </tr>
                    </thead>
                    <tbody>
                      {rewards.contributions.map((c) => (
                        <tr key={c.contribution} data-testid={`reward-${c.contribution}`}>
                          <td>#{c.contribution}</td>
                          <td>
                            <Open v={c.earned} />
                          </td>
                          <td>
                            <Open v={c.claimed} />
                          </td>
                          <td>
                            <Open v={c.claimable} />
                          </td>
                          <td>
                            <Open v={c.pending} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
              {byModel.length > 0 && (
                <>
                  <h2>Per model</h2>
                  <div className="table-wrap">
                    <table data-testid="rewards-by-model">
                      <thead>
                        <tr>
                          <th scope="col">Model</th>
                          <th scope="col">Answers that used your data</th>
                          <th scope="col">Earned</th>
                        </tr>
                      </thead>
                      <tbody>
                        {byModel.map(([m, v]) => (
                          <tr key={m}>
                            <td>
                              <a href={`#/models/${m}`}>Model {m}</a>
                            </td>
                            <td>{v.receipts}</td>
                            <td>
                              <Open v={v.earned} />
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                </>
              )}
              <Plot points={points} title="Earnings of your contributions over time (cumulative)" xLabel="block" yLabel="OPEN" fmtY={(y) => y.toPrecision(3)} testId="earnings-plot" />
              <h2>As a developer and operator</h2>
              <p>
                Paid to the account itself (developer shares): earned <Open v={rewards.account.earned} />, claimable <Open v={rewards.account.claimable} />. As an agent: earned <Open v={rewards.agent.earned} />.
              </p>
              {models.length > 0 && <p>Models you own: {models.map((m) => <a key={m.id} href={`#/models/${m.id}`}>Model {m.id} </a>)}</p>}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
