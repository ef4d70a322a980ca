// Governance: the referenda being decided (track, tally, deadlines) and a vote on each, signed
// by the Substrate account or, through the IGovernance precompile, by an Ethereum wallet
// (MetaMask): the same vote, the same locks.
import { useState } from 'react';
import { createWalletClient, custom, parseAbi, type Address } from 'viem';
import { useApp } from '../app';
import { errorText, fmtOpen, parseOpen, submit, UserError } from '../lib/chain';
import { ethereumProvider } from '../lib/wallet';
import { Action, Field, Loaded, Select, useLoad } from '../ui';

const GOVERNANCE: Address = '0x000000000000000000000000000000000c000000';
const ABI = parseAbi(['function vote(uint32 referendum, bool aye, uint8 conviction, uint256 balance)']);
const CONVICTIONS: [string, string][] = [
  ['0', 'No lock (0.1× votes)'],
  ['1', 'Locked 1× (1 period)'],
  ['2', 'Locked 2×'],
  ['3', 'Locked 3×'],
  ['4', 'Locked 4×'],
  ['5', 'Locked 5×'],
  ['6', 'Locked 6×'],
];

interface Ongoing {
  index: number;
  track: string;
  ayes: bigint;
  nays: bigint;
  support: bigint;
  submitted: number;
  deciding: string;
}

export function Governance() {
  const { chain, version } = useApp();
  const refs = useLoad(async () => {
    const entries = await chain.api.query.referenda.referendumInfoFor.entries();
    const tracks = new Map(
      (chain.api.consts.referenda.tracks.toJSON() as [number, { name: string }][]).map(([id, t]) => [id, t.name.replace(/\0+$/, '')]),
    );
    const out: Ongoing[] = [];
    const decided: { index: number; outcome: string; at: number }[] = [];
    for (const [key, value] of entries) {
      const info = (value as unknown as { unwrapOr(x: null): unknown }).unwrapOr(null) as {
        type: string;
        isOngoing?: boolean;
        asOngoing?: Record<string, { toString(): string; toJSON(): unknown }>;
        value?: { 0?: { toString(): string } };
      } | null;
      if (!info) continue;
      if (!info.isOngoing || !info.asOngoing) {
        const at = Number(info.value?.[0]?.toString() ?? 0);
        decided.push({ index: Number((key.args[0] as { toString(): string }).toString()), outcome: info.type, at });
        continue;
      }
      const o = info.asOngoing;
      const tally = o.tally.toJSON() as { ayes: string | number; nays: string | number; support: string | number };
      out.push({
        index: Number((key.args[0] as { toString(): string }).toString()),
        track: tracks.get(Number(o.track.toString())) ?? `track ${o.track.toString()}`,
        ayes: BigInt(tally.ayes),
        nays: BigInt(tally.nays),
        support: BigInt(tally.support),
        submitted: Number(o.submitted.toString()),
        deciding: decidingText(o.deciding.toJSON() as { since: number; confirming: number | null } | null),
      });
    }
    return { ongoing: out.sort((a, b) => b.index - a.index), decided: decided.sort((a, b) => b.index - a.index).slice(0, 20) };
  }, [chain, version]);
  return (
    <section>
      <h1>Governance</h1>
      <p className="muted">Referenda decided by OPEN holders' conviction votes and data contributors' contribution power.</p>
      <Loaded state={refs}>
        {({ ongoing, decided }) => (
          <>
            {ongoing.length === 0 ? <p className="muted">No referendum is being decided.</p> : ongoing.map((r) => <Referendum key={r.index} r={r} />)}
            {decided.length > 0 && (
              <>
                <h2>Decided</h2>
                <ul>
                  {decided.map((d) => (
                    <li key={d.index} data-testid={`referendum-${d.index}`}>
                      Referendum {d.index}: {d.outcome.toLowerCase()}
                      {d.at ? ` at block ${d.at}` : ''}
                    </li>
                  ))}
                </ul>
              </>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}

function Referendum({ r }: { r: Ongoing }) {
  const { chain, account, changed } = useApp();
  const [amount, setAmount] = useState('1');
  const [conviction, setConviction] = useState('1');
  const total = r.ayes + r.nays;
  const ayePct = total > 0n ? Number((r.ayes * 1000n) / total) / 10 : 0;
  const vote = (aye: boolean) => async (progress: (s: string) => void) => {
    if (!account) throw new UserError('Choose an account first.');
    const balance = parseOpen(amount, 'vote amount');
    const tx = chain.api.tx.convictionVoting.vote(r.index, { Standard: { vote: { aye, conviction: Number(conviction) }, balance } } as never);
    await submit(chain, account, tx, progress);
    changed();
    return `Voted ${aye ? 'aye' : 'nay'} with ${fmtOpen(balance)}.`;
  };
  const voteEth = (aye: boolean) => async (progress: (s: string) => void) => {
    const eth = ethereumProvider();
    if (!eth) throw new UserError('No Ethereum wallet (MetaMask) in this browser.');
    const balance = parseOpen(amount, 'vote amount');
    try {
      const client = createWalletClient({ transport: custom(eth) });
      const [from] = await client.requestAddresses();
      progress('Confirm in your Ethereum wallet…');
      const hash = await client.writeContract({ account: from, chain: null, address: GOVERNANCE, abi: ABI, functionName: 'vote', args: [r.index, aye, Number(conviction), balance] });
      progress('Sent; waiting for a block…');
      const receipt = await waitForReceipt(eth, hash);
      if (receipt.status !== '0x1') throw new UserError(`The vote reverted on chain (transaction ${hash}).`);
      changed();
      return `Voted ${aye ? 'aye' : 'nay'} from ${from} in transaction ${hash}.`;
    } catch (e) {
      if (e instanceof UserError) throw e;
      const t = errorText(e);
      if (/rejected|denied/i.test(t)) throw new UserError('You rejected the request in your Ethereum wallet; nothing was sent.');
      throw new UserError(t.split('\n')[0]);
    }
  };
  return (
    <div className="card" data-testid={`referendum-${r.index}`}>
      <h2>
        Referendum {r.index} <small className="muted">{r.track} track</small>
      </h2>
      <p>
        Ayes {fmtOpen(r.ayes)} · Nays {fmtOpen(r.nays)} ({ayePct}% aye) · support {fmtOpen(r.support)} · submitted at block {r.submitted} · {r.deciding}
      </p>
      <meter min={0} max={100} value={ayePct} aria-label={`Approval ${ayePct}%`} />
      <div className="grid">
        <Field label="Amount (OPEN)" value={amount} onChange={setAmount} />
        <Select label="Conviction" value={conviction} onChange={setConviction} options={CONVICTIONS} />
      </div>
      <Action label="Vote aye" kind="primary" run={vote(true)} testId={`aye-${r.index}`} />
      <Action label="Vote nay" run={vote(false)} testId={`nay-${r.index}`} />
      {ethereumProvider() && (
        <>
          <Action label="Aye with MetaMask" run={voteEth(true)} testId={`eth-aye-${r.index}`} />
          <Action label="Nay with MetaMask" run={voteEth(false)} testId={`eth-nay-${r.index}`} />
        </>
      )}
    </div>
  );
}

function decidingText(d: { since: number; confirming: number | null } | null): string {
  if (!d) return 'preparing (not deciding yet)';
  return d.confirming ? `deciding since block ${d.since}, confirming until block ${d.confirming}` : `deciding since block ${d.since}`;
}

/** The receipt of Ethereum transaction `hash`, polled for up to 60 s. */
async function waitForReceipt(eth: NonNullable<ReturnType<typeof ethereumProvider>>, hash: string): Promise<{ status: string }> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = (await eth.request({ method: 'eth_getTransactionReceipt', params: [hash] })) as { status: string } | null;
    if (r) return r;
    await new Promise((res) => setTimeout(res, 1_000));
  }
  throw new UserError(`Transaction ${hash} was not included within 60 s.`);
}
