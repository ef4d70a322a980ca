// Model Factory: fine-tune a LoRA adapter on a datanet snapshot the account may use (the worker
// checks the snapshot's members and hashes against the chain, and private datanets' grants),
// watch its loss, then publish: sign the `register_model` call the worker prepared, so the
// adapter is registered with that provenance and earns for its contributors when it serves.
import { useEffect, useState } from 'react';
import { useApp } from '../app';
import { chainAddress, rpc, submit, UserError } from '../lib/chain';
import type { Snapshot } from '../lib/types';
import { Action, Badge, Field, Loaded, Plot, useLoad } from '../ui';

interface Job {
  id: string;
  status: string;
  step: number;
  total_steps: number | null;
  fine_tuned_model: string | null;
  snapshots: [number, number][] | null;
  error: { message: string } | null;
  registration: { call: string; signer: string; weights_hash: string; trained_on: [number, number][] } | null;
}

interface JobEvent {
  seq: number;
  message: string;
  data?: { type?: string; step?: number; loss?: number; eval_loss?: number } | null;
}

export function Factory() {
  const { worker, version } = useApp();
  const jobs = useLoad(() => worker.json<{ data: Job[] }>('/v1/fine_tuning/jobs', { admin: true }), [worker, version]);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section>
      <h1>Model Factory</h1>
      <p className="muted">Fine-tuning runs on the inference worker and needs its admin key (Settings). The adapter is served as soon as it is trained; publishing registers it on chain with its snapshots.</p>
      <NewJob />
      <h2>Jobs</h2>
      <Loaded state={jobs}>
        {({ data }) =>
          data.length === 0 ? (
            <p className="muted">No job yet.</p>
          ) : (
            <ul>
              {data.map((j) => (
                <li key={j.id}>
                  <button type="button" className="link" onClick={() => setOpen(j.id)}>
                    {j.id}
                  </button>{' '}
                  <Badge text={j.status} tone={j.status === 'succeeded' ? 'ok' : j.status === 'failed' ? 'bad' : undefined} /> step {j.step}
                  {j.total_steps ? ` of ${j.total_steps}` : ''}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      {open && <JobView id={open} />}
    </section>
  );
}

function NewJob() {
  const { chain, worker, account, changed } = useApp();
  const [snapshot, setSnapshot] = useState('');
  const [dir, setDir] = useState('');
  const [steps, setSteps] = useState('32');
  const [price, setPrice] = useState('');
  const start = async () => {
    if (!account) throw new UserError('Choose the account that will own the adapter.');
    const m = /^(\d+)\s*:\s*v?(\d+)$/.exec(snapshot.trim());
    if (!m) throw new UserError('Name the snapshot as datanet:version, e.g. 1:1.');
    const snap = await rpc<Snapshot | null>(chain, 'datanets_getSnapshot', [Number(m[1]), Number(m[2])]);
    if (!snap) throw new UserError(`Datanet ${m[1]} has no snapshot ${m[2]}.`);
    if (!dir.trim()) throw new UserError("Name the directory (under the worker's import root) holding the snapshot's files.");
    const n = Number(steps);
    if (!Number.isInteger(n) || n < 1) throw new UserError('Steps is a whole number of at least 1.');
    const health = await worker.health();
    const body = {
      model: health.model,
      snapshots: [{ datanet: Number(m[1]), version: Number(m[2]), dir: dir.trim() }],
      hyperparameters: { max_steps: n },
      register: { owner: chainAddress(chain, account.address), ...(price.trim() ? { price_per_1k_tokens: price.trim() } : {}) },
    };
    const job = await worker.json<Job>('/v1/fine_tuning/jobs', { method: 'POST', body: JSON.stringify(body), admin: true });
    changed();
    return `Job ${job.id} queued.`;
  };
  return (
    <div className="card">
      <h2>New fine-tuning job</h2>
      <div className="grid">
        <Field label="Snapshot" value={snapshot} onChange={setSnapshot} placeholder="datanet:version" />
        <Field label="Files directory (on the worker)" value={dir} onChange={setDir} hint="Holds the snapshot's files and contributions.json; each file is checked against the chain's hash." />
        <Field label="Steps" value={steps} onChange={setSteps} />
        <Field label="Price per 1k tokens, base units (empty: the base's)" value={price} onChange={setPrice} />
      </div>
      <Action label="Start training" kind="primary" run={start} />
    </div>
  );
}

function JobView({ id }: { id: string }) {
  const { chain, worker, account, changed } = useApp();
  const [job, setJob] = useState<Job | null>(null);
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let after: number | undefined;
    const seen: JobEvent[] = [];
    const poll = async () => {
      while (live) {
        try {
          const j = await worker.json<Job>(`/v1/fine_tuning/jobs/${id}`, { admin: true });
          const ev = await worker.json<{ data: JobEvent[] }>(`/v1/fine_tuning/jobs/${id}/events${after !== undefined ? `?after=${after}` : ''}`, { admin: true });
          if (!live) return;
          seen.push(...ev.data);
          if (ev.data.length) after = ev.data[ev.data.length - 1].seq;
          setJob(j);
          setEvents([...seen]);
          setError(null);
          if (['succeeded', 'failed', 'cancelled'].includes(j.status)) return;
        } catch (e) {
          if (live) setError(String(e instanceof Error ? e.message : e));
        }
        await new Promise((r) => setTimeout(r, 2_000));
      }
    };
    void poll();
    return () => {
      live = false;
    };
  }, [worker, id]);
  const loss: [number, number][] = events.filter((e) => e.data?.type === 'step' && typeof e.data.loss === 'number').map((e) => [e.data!.step ?? e.seq, e.data!.loss!]);
  const publish = async (progress: (s: string) => void) => {
    if (!account) throw new UserError('Choose an account first.');
    if (!job?.registration) throw new UserError('This job has no prepared registration.');
    const r = await submit(chain, account, chain.api.tx(job.registration.call), progress);
    changed();
    return `Published in block ${r.blockNumber}: the adapter ${job.registration.weights_hash.slice(0, 10)}… is a registered model.`;
  };
  return (
    <div className="card" data-testid="job">
      <h2>Job {id}</h2>
      {error && <p className="error" role="alert">{error}</p>}
      {job && (
        <>
          <p>
            <Badge text={job.status} /> step {job.step}
            {job.total_steps ? ` of ${job.total_steps}` : ''} {job.fine_tuned_model && <>· adapter {job.fine_tuned_model.slice(0, 12)}…</>}
          </p>
          {job.error && <p className="error" role="alert">{job.error.message}</p>}
          <Plot points={loss} title="Training loss" xLabel="step" yLabel="loss" testId="loss-plot" />
          {job.registration && <Action label="Publish (register on chain)" kind="primary" run={publish} />}
        </>
      )}
    </div>
  );
}
