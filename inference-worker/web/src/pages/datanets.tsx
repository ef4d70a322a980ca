// Datanets: the list (searchable by domain), one datanet's contributions, curators and
// snapshots with their Merkle roots, and the forms to create one and publish a snapshot.
import { useState } from 'react';
import { useApp } from '../app';
import { eventData, parseOpen, rpc, sameAccount, submit, UserError } from '../lib/chain';
import { allDatanets, contributionsOf, statusText, type Datanet, type Snapshot } from '../lib/types';
import { usePublishSnapshot } from './curate';
import { Action, Addr, Badge, Field, Hash, Loaded, Open, Select, useLoad } from '../ui';

export function Datanets({ id }: { id?: string }) {
  return id === undefined ? <DatanetList /> : <DatanetDetail id={Number(id)} />;
}

function DatanetList() {
  const { chain, version } = useApp();
  const [q, setQ] = useState('');
  const list = useLoad(() => allDatanets(chain), [chain, version]);
  return (
    <section>
      <h1>Datanets</h1>
      <p className="muted">Community datasets with on-chain provenance: every accepted file is a content hash, every snapshot a Merkle root.</p>
      <Field label="Search by domain or name" value={q} onChange={setQ} placeholder="e.g. geography" testId="datanet-search" />
      <Loaded state={list}>
        {(all) => {
          const needle = q.trim().toLowerCase();
          const shown = all.filter((d) => !needle || d.domain.toLowerCase().includes(needle) || d.name.toLowerCase().includes(needle));
          return shown.length === 0 ? (
            <p className="muted">{all.length === 0 ? 'No datanets yet: create the first below.' : `No datanet matches "${q}".`}</p>
          ) : (
            <div className="table-wrap">
              <table data-testid="datanet-list">
                <caption className="sr-only">Datanets</caption>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Name</th>
                    <th scope="col">Domain</th>
                    <th scope="col">Accepted</th>
                    <th scope="col">Snapshots</th>
                    <th scope="col">Stake</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((d) => (
                    <tr key={d.id}>
                      <td>{d.id}</td>
                      <td>
                        <a href={`#/datanets/${d.id}`}>{d.name}</a> {d.visibility === 'Private' && <Badge text="private" tone="warn" />} {!d.open && <Badge text="closed" />}
                      </td>
                      <td>{d.domain}</td>
                      <td>
                        {d.acceptedCount} / {d.contributionCount}
                      </td>
                      <td>{d.snapshotCount}</td>
                      <td>
                        <Open v={d.contributionStake} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          );
        }}
      </Loaded>
      <CreateDatanet />
    </section>
  );
}

function CreateDatanet() {
  const { chain, account, changed } = useApp();
  const [name, setName] = useState('');
  const [domain, setDomain] = useState('');
  const [license, setLicense] = useState('CC-BY-4.0');
  const [description, setDescription] = useState('');
  const [visibility, setVisibility] = useState('Public');
  const [stake, setStake] = useState('0.01');
  const [maxKib, setMaxKib] = useState('1024');
  const create = async (progress: (s: string) => void) => {
    if (!account) throw new UserError('Choose an account first.');
    if (!name.trim()) throw new UserError('Give the datanet a name.');
    if (!domain.trim()) throw new UserError('Give the datanet a domain (what its data is about).');
    const kib = Number(maxKib);
    if (!Number.isInteger(kib) || kib <= 0) throw new UserError('The size limit must be a whole number of KiB.');
    const tx = chain.api.tx.datanets.createDatanet(name.trim(), description.trim(), domain.trim(), license.trim(), visibility, parseOpen(stake, 'stake'), kib * 1024);
    const r = await submit(chain, account, tx, progress);
    const created = eventData(r, 'datanets', 'DatanetCreated');
    changed();
    return `Datanet ${String(created?.datanet ?? '?')} created in block ${r.blockNumber}.`;
  };
  return (
    <details className="card" open>
      <summary>
        <h2>Create a datanet</h2>
      </summary>
      <div className="grid">
        <Field label="Name" value={name} onChange={setName} testId="dn-name" />
        <Field label="Domain" value={domain} onChange={setDomain} placeholder="geography, medicine, code…" testId="dn-domain" />
        <Field label="License" value={license} onChange={setLicense} />
        <Field label="Description URI" value={description} onChange={setDescription} placeholder="ipfs://… or https://…" />
        <Select label="Visibility" value={visibility} onChange={setVisibility} options={[['Public', 'Public'], ['Private', 'Private (training by grant)']]} />
        <Field label="Contribution stake (OPEN)" value={stake} onChange={setStake} hint="Held from each contributor until the review; at least 0.01." testId="dn-stake" />
        <Field label="Largest file (KiB)" value={maxKib} onChange={setMaxKib} />
      </div>
      <Action label="Create datanet" kind="primary" run={create} testId="dn-create" />
    </details>
  );
}

function PublishButton({ d }: { d: Datanet }) {
  const publish = usePublishSnapshot(d);
  return <Action label="Publish a snapshot" kind="primary" run={publish} testId="publish-snapshot" />;
}

function DatanetDetail({ id }: { id: number }) {
  const { chain, account, version, changed } = useApp();
  const data = useLoad(async () => {
    const d = await rpc<Datanet | null>(chain, 'datanets_getDatanet', [id]);
    if (!d) throw new UserError(`There is no datanet ${id}.`);
    const [contributions, snapshots] = await Promise.all([
      contributionsOf(chain, d),
      Promise.all(Array.from({ length: d.snapshotCount }, (_, i) => rpc<Snapshot | null>(chain, 'datanets_getSnapshot', [id, i + 1]))),
    ]);
    return { d, contributions, snapshots: snapshots.filter((s): s is Snapshot => s !== null).reverse() };
  }, [chain, id, version]);
  const [curator, setCurator] = useState('');
  return (
    <section>
      <p>
        <a href="#/datanets">← All datanets</a>
      </p>
      <Loaded state={data}>
        {({ d, contributions, snapshots }) => {
          const mine = account && (sameAccount(d.owner, account.address) || d.curators.some((c) => sameAccount(c, account.address)));
          const addCurator = async (progress: (s: string) => void) => {
            if (!account) throw new UserError('Choose an account first.');
            if (!curator.trim()) throw new UserError('Enter the curator\'s address.');
            await submit(chain, account, chain.api.tx.datanets.addCurator(d.id, curator.trim()), progress);
            changed();
            return 'Curator added.';
          };
          return (
            <>
              <h1 data-testid="datanet-title">
                {d.name} <small className="muted">#{d.id}</small>
              </h1>
              <dl className="facts">
                <dt>Domain</dt>
                <dd>{d.domain}</dd>
                <dt>Owner</dt>
                <dd>
                  <Addr a={d.owner} />
                </dd>
                <dt>License</dt>
                <dd>{d.license || '—'}</dd>
                <dt>Visibility</dt>
                <dd>{d.visibility}</dd>
                <dt>Stake per contribution</dt>
                <dd>
                  <Open v={d.contributionStake} />
                </dd>
                <dt>Reward pool</dt>
                <dd>
                  <Open v={d.rewardPool} />
                </dd>
                <dt>Curators</dt>
                <dd>{d.curators.length ? d.curators.map((c) => <Addr key={c} a={c} />) : 'the owner only'}</dd>
              </dl>
              <p>
                {d.open ? (
                  <a className="button primary" href={`#/contribute/${d.id}`}>
                    Contribute a file
                  </a>
                ) : (
                  <Badge text="closed to contributions" />
                )}
              </p>
              <h2>Contributions</h2>
              {contributions.length === 0 ? (
                <p className="muted">None yet.</p>
              ) : (
                <div className="table-wrap">
                  <table data-testid="contribution-list">
                    <thead>
                      <tr>
                        <th scope="col">#</th>
                        <th scope="col">Contributor</th>
                        <th scope="col">Content hash</th>
                        <th scope="col">Size</th>
                        <th scope="col">Status</th>
                      </tr>
                    </thead>
                    <tbody>
                      {contributions.map((c) => (
                        <tr key={c.id}>
                          <td>{c.id}</td>
                          <td>
                            <Addr a={c.contributor} />
                          </td>
                          <td>
                            <Hash h={c.contentHash} />
                          </td>
                          <td>{c.byteSize.toLocaleString()} B</td>
                          <td>{statusText(c.status)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
              <h2>Snapshots</h2>
              {snapshots.length === 0 ? (
                <p className="muted">No snapshot yet.</p>
              ) : (
                <ul className="snapshots" data-testid="snapshot-list">
                  {snapshots.map((s) => (
                    <li key={s.version}>
                      <strong>v{s.version}</strong> · block {s.publishedAt} · {s.members.length} member{s.members.length === 1 ? '' : 's'} ({s.members.join(', ')}) · Merkle root{' '}
                      <span className="mono root" data-testid={`snapshot-root-${s.version}`}>
                        {s.root}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
              {mine && (
                <div className="card">
                  <h2>Curator tools</h2>
                  <p>
                    <a href="#/curate">Review pending contributions</a>
                  </p>
                  <PublishButton d={d} />
                  {sameAccount(d.owner, account!.address) && (
                    <div className="row">
                      <Field label="Add a curator (address)" value={curator} onChange={setCurator} />
                      <Action label="Add curator" run={addCurator} />
                    </div>
                  )}
                </div>
              )}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
