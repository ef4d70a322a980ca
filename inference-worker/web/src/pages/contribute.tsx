// Contribute: pick files, hash each in the browser with the chain's content hash (BLAKE2b-256
// of the bytes, as `provena_primitives::content_hash`), see the stake, submit. The files never
// leave the machine; the chain records their hashes, sizes and declared token counts.
import { useState } from 'react';
import { blake2AsHex } from '@polkadot/util-crypto';
import { useApp } from '../app';
import { eventData, fmtOpen, rpc, rpcAddress, submit, UserError } from '../lib/chain';
import { allDatanets, type Contribution, type Datanet } from '../lib/types';
import { Action, Field, Hash, Loaded, Open, Select, useLoad } from '../ui';

interface Picked {
  name: string;
  size: number;
  hash: string;
  tokens: number;
  /** Already in this datanet (by anyone). */
  known: boolean;
}

/** A rough token count for a text file (SmolLM2-like tokenizers: ~4 bytes a token). */
function estimateTokens(size: number): number {
  return Math.max(1, Math.ceil(size / 4));
}

export function Contribute({ datanet }: { datanet?: string }) {
  const { chain, account, version, changed } = useApp();
  const list = useLoad(() => allDatanets(chain), [chain, version]);
  const [chosen, setChosen] = useState(datanet ?? '');
  const [files, setFiles] = useState<Picked[]>([]);
  const [hashing, setHashing] = useState<string | null>(null);
  const [license, setLicense] = useState('');
  const [uri, setUri] = useState('');

  const pick = async (list: FileList | null, d?: Datanet) => {
    setFiles([]);
    if (!list || !d) return;
    const out: Picked[] = [];
    setHashing(`Hashing ${list.length} file(s)…`);
    try {
      for (const f of Array.from(list)) {
        const bytes = new Uint8Array(await f.arrayBuffer());
        const hash = blake2AsHex(bytes, 256);
        const known = !(await chain.api.query.datanets.contentIndex(d.id, hash)).isEmpty;
        out.push({ name: f.name, size: f.size, hash, tokens: estimateTokens(f.size), known });
      }
      setFiles(out);
      setHashing(out.some((f) => f.size > d.maxContributionBytes) ? `A file is larger than this datanet's limit (${d.maxContributionBytes.toLocaleString()} bytes).` : null);
    } catch (e) {
      setHashing(`Could not read the files: ${String(e)}`);
    }
  };

  return (
    <section>
      <h1>Contribute</h1>
      <Loaded state={list}>
        {(all) => {
          const open = all.filter((d) => d.open);
          const d = open.find((x) => String(x.id) === chosen);
          const send = async (progress: (s: string) => void) => {
            if (!account) throw new UserError('Choose an account first.');
            if (!d) throw new UserError('Choose a datanet.');
            if (files.length === 0) throw new UserError('Pick at least one file.');
            const tooBig = files.find((f) => f.size > d.maxContributionBytes);
            if (tooBig) throw new UserError(`${tooBig.name} is ${tooBig.size.toLocaleString()} bytes; this datanet takes at most ${d.maxContributionBytes.toLocaleString()}.`);
            const dup = files.find((f) => f.known);
            if (dup) throw new UserError(`${dup.name} is already in this datanet (same content hash).`);
            const calls = files.map((f) =>
              chain.api.tx.datanets.contribute(d.id, f.hash, f.size, f.tokens, uri.trim() || `file:${f.name}`, license.trim() || d.license, d.contributionStake),
            );
            const tx = calls.length === 1 ? calls[0] : chain.api.tx.utility.batchAll(calls);
            const r = await submit(chain, account, tx, progress);
            const ev = eventData(r, 'datanets', 'ContributionSubmitted');
            changed();
            setFiles([]);
            return `Submitted${ev ? ` as contribution ${String(ev.contribution ?? ev.id)}` : ''} in block ${r.blockNumber}; ${fmtOpen(BigInt(d.contributionStake) * BigInt(calls.length))} staked until a curator reviews it.`;
          };
          return (
            <>
              {open.length === 0 ? (
                <p className="muted">No datanet is open for contributions. <a href="#/datanets">Create one</a>.</p>
              ) : (
                <Select
                  label="Datanet"
                  value={chosen}
                  onChange={(v) => {
                    setChosen(v);
                    setFiles([]);
                  }}
                  options={[['', 'Choose…'], ...open.map((x): [string, string] => [String(x.id), `#${x.id} ${x.name} (${x.domain})`])]}
                  testId="contribute-datanet"
                />
              )}
              {d && (
                <>
                  <p>
                    Stake per file: <Open v={d.contributionStake} /> (back after review and a lock-up; slashed for plagiarism). Largest file: {d.maxContributionBytes.toLocaleString()} bytes.
                  </p>
                  <div className="field">
                    <label htmlFor="files">Files</label>
                    <input id="files" type="file" multiple onChange={(e) => void pick(e.target.files, d)} data-testid="contribute-files" />
                  </div>
                  {hashing && <p className="muted" role="status">{hashing}</p>}
                  {files.length > 0 && (
                    <div className="table-wrap">
                      <table data-testid="contribute-hashes">
                        <thead>
                          <tr>
                            <th scope="col">File</th>
                            <th scope="col">Bytes</th>
                            <th scope="col">Content hash (BLAKE2b-256)</th>
                            <th scope="col">Tokens (declared)</th>
                          </tr>
                        </thead>
                        <tbody>
                          {files.map((f, i) => (
                            <tr key={f.hash}>
                              <td>{f.name}</td>
                              <td>{f.size.toLocaleString()}</td>
                              <td>
                                <span className="mono" data-testid={`hash-${i}`}>
                                  {f.hash}
                                </span>
                                {f.known && <span className="error"> already in this datanet</span>}
                              </td>
                              <td>
                                <label className="sr-only" htmlFor={`tok-${i}`}>
                                  Tokens of {f.name}
                                </label>
                                <input
                                  id={`tok-${i}`}
                                  type="number"
                                  min={1}
                                  value={f.tokens}
                                  onChange={(e) => setFiles(files.map((x, j) => (j === i ? { ...x, tokens: Math.max(1, Number(e.target.value) || 1) } : x)))}
                                />
                              </td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </div>
                  )}
                  <div className="grid">
                    <Field label="License (empty: the datanet's)" value={license} onChange={setLicense} />
                    <Field label="Where the file lives (URI)" value={uri} onChange={setUri} placeholder="ipfs://…; empty: file:<name>" />
                  </div>
                  <Action label="Stake and submit" kind="primary" run={send} disabled={files.length === 0} testId="contribute-submit" />
                </>
              )}
              <MyContributions />
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

function MyContributions() {
  const { chain, account, version } = useApp();
  const mine = useLoad(
    async () => (account ? rpc<Contribution[]>(chain, 'datanets_getContributionsOf', [rpcAddress(account.address), 0, 100]) : []),
    [chain, account?.address, version],
  );
  return (
    <>
      <h2>Your contributions</h2>
      <Loaded state={mine}>
        {(cs) =>
          cs.length === 0 ? (
            <p className="muted">None yet.</p>
          ) : (
            <ul>
              {cs.map((c) => (
                <li key={c.id}>
                  #{c.id} in <a href={`#/datanets/${c.datanet}`}>datanet {c.datanet}</a> · <Hash h={c.contentHash} /> · {typeof c.status === 'string' ? c.status : Object.keys(c.status)[0]}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </>
  );
}
