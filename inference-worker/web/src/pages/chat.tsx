// Chat: pick a registered model the worker serves (its base or an adapter, or a mix of
// adapters), pay with a voucher signed here, read the answer as it streams, then see which
// contributions it was attributed to, what each was credited, and the receipt once the
// worker has settled it on chain.
import { useRef, useState } from 'react';
import { useApp } from '../app';
import { bestNumber, eventData, fmtOpen, parseOpen, rpc, rpcAddress, submit, UserError } from '../lib/chain';
import { allModels, paidTo, type Contribution, type Model, type Receipt } from '../lib/types';
import { signBare } from '../lib/wallet';
import type { ProvenaRecord } from '../lib/worker';
import { Action, Field, Hash, Loaded, Open, Select, useLoad } from '../ui';

interface Turn {
  question: string;
  answer: string;
  record?: ProvenaRecord;
  model: Model;
  /** The contributions credited, with what the chain's receipt paid each (once settled). */
  credits?: { c: Contribution | null; id: number; ppm: number; estimate: bigint; paid?: bigint }[];
  receipt?: Receipt;
  note?: string;
}

/** The model's id as the worker takes it: its weights hash without `0x`. */
const workerModel = (m: Model) => m.weightsHash.replace(/^0x/, '');

export function Chat() {
  const { chain, worker, account, version } = useApp();
  const setup = useLoad(async () => {
    const [health, models, served] = await Promise.all([
      worker.health(),
      allModels(chain),
      worker.json<{ data: { id: string }[] }>('/v1/models').catch(() => ({ data: [] })),
    ]);
    const ids = new Set(served.data.map((d) => d.id.replace(/^0x/, '')));
    ids.add(health.base_hash.replace(/^0x/, ''));
    return { health, models: models.filter((m) => ids.has(workerModel(m))) };
  }, [chain, worker, version]);
  const [modelId, setModelId] = useState('');
  const [question, setQuestion] = useState('');
  const [maxTokens, setMaxTokens] = useState('32');
  const [maxFee, setMaxFee] = useState('1');
  const [turns, setTurns] = useState<Turn[]>([]);
  const abort = useRef<AbortController | null>(null);

  const ask = async (progress: (s: string) => void) => {
    const s = setup.data;
    if (!s) throw new UserError(setup.error ?? 'Still loading the models.');
    const model = s.models.find((m) => String(m.id) === modelId) ?? s.models[0];
    if (!model) throw new UserError('No registered model is served by this worker.');
    if (!question.trim()) throw new UserError('Type a question.');
    const max = Number(maxTokens);
    if (!Number.isInteger(max) || max < 1 || max > 2048) throw new UserError('Max tokens is a whole number from 1 to 2048.');
    // An extension's account cannot sign a bare voucher: it asks on chain instead.
    if (account && !account.pair) return askOnChain(model, max, progress);
    let voucher: string | undefined;
    let requestId: string | undefined;
    const operator = s.health.settlement?.operator;
    if (operator) {
      if (!account) throw new UserError('Choose an account to pay with.');
      progress('Signing the voucher…');
      const fee = parseOpen(maxFee, 'max fee');
      const bytes = crypto.getRandomValues(new Uint8Array(32));
      requestId = '0x' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
      const v = { requestId, model: model.id, maxFee: fee.toString(), operator: rpcAddress(operator), expiresAt: (await bestNumber(chain)) + 100 };
      const payload = await rpc<string>(chain, 'attribution_voucherPayload', [v]);
      voucher = JSON.stringify({ voucher: v, user: rpcAddress(account.address), signature: signBare(account, payload) });
    }
    const turn: Turn = { question: question.trim(), answer: '', model };
    // One question at a time (the button is busy meanwhile), so this turn's index is the count.
    const idx = turns.length;
    setTurns((t) => [...t, turn]);
    const update = (f: (t: Turn) => Turn) => setTurns((ts) => ts.map((x, j) => (j === idx ? f(x) : x)));
    progress('Answering…');
    abort.current = new AbortController();
    let text = '';
    const record = await worker.chat(
      { model: workerModel(model), messages: [{ role: 'user', content: turn.question }], max_tokens: max, temperature: 0 },
      voucher,
      (piece) => {
        text += piece;
        update((t) => ({ ...t, answer: text }));
      },
      abort.current.signal,
    );
    const fee = BigInt(record.settlement?.fee ?? '0');
    // The contributors' part of a fee is half (the chain's FeeShares); each gets its weight of it.
    const credits = await Promise.all(
      record.receipt.weights.map(async (w) => ({
        id: w.contribution,
        ppm: w.ppm,
        estimate: (fee * 500_000n * BigInt(w.ppm)) / 1_000_000_000_000n,
        c: await rpc<Contribution | null>(chain, 'datanets_getContribution', [w.contribution]).catch(() => null),
      })),
    );
    update((t) => ({ ...t, answer: text, record, credits }));
    setQuestion('');
    if (requestId) void followReceipt(model, requestId);
    return fee > 0n ? `Answered; fee ${fmtOpen(fee)}. The receipt settles on chain shortly.` : 'Answered (unpaid: this worker takes no vouchers).';

    /**
     * The on-chain path: `request_inference` holds the max fee; the job's operator (a node's
     * off-chain worker calling its inference worker) answers it; the receipt is the job's.
     */
    async function askOnChain(m: Model, maxTok: number, progress: (s: string) => void): Promise<string> {
      if (!account) throw new UserError('Choose an account to pay with.');
      const fee = parseOpen(maxFee, 'max fee');
      const idx = turns.length;
      const turn: Turn = { question: question.trim(), answer: '', model: m };
      setTurns((t) => [...t, turn]);
      const update = (f: (t: Turn) => Turn) => setTurns((ts) => ts.map((x, j) => (j === idx ? f(x) : x)));
      const r = await submit(chain, account, chain.api.tx.inference.requestInference(m.id, turn.question, maxTok, fee, null), progress);
      const ev = eventData(r, 'inference', 'JobRequested');
      if (!ev) throw new UserError('The request was included but no job was created.');
      const jobId = Number(ev.job);
      progress(`Job ${jobId} waits for its operator…`);
      const deadline = Date.now() + 180_000;
      for (;;) {
        const job = await rpc<{ status: string; output: string; receipt: [number, string] | null }>(chain, 'inference_getJob', [jobId]);
        if (job.status === 'Completed' && job.receipt) {
          const receipt = await rpc<Receipt>(chain, 'attribution_getReceipt', [job.receipt[0]]);
          const credits = await Promise.all(
            receipt.attribution.map(async ([id, ppm]) => ({
              id,
              ppm,
              estimate: 0n,
              paid: paidTo(receipt, id),
              c: await rpc<Contribution | null>(chain, 'datanets_getContribution', [id]).catch(() => null),
            })),
          );
          const record: ProvenaRecord = {
            request_id: receipt.requestId,
            base_model: m.weightsHash,
            prompt_tokens: Number(receipt.inputTokens ?? 0),
            completion_tokens: Number(receipt.outputTokens ?? 0),
            receipt: { weights: receipt.attribution.map(([contribution, ppm]) => ({ contribution, ppm })), evidence_hash: String(receipt.evidenceHash ?? '') },
            settlement: { requestId: receipt.requestId, fee: receipt.fee },
          };
          update((t) => ({ ...t, answer: job.output, record, receipt, credits }));
          setQuestion('');
          return `Answered on chain (job ${jobId}); fee ${fmtOpen(receipt.fee)}, the rest of the max fee refunded.`;
        }
        if (job.status === 'Expired' || job.status === 'Failed') throw new UserError(`Job ${jobId} ${job.status.toLowerCase()}: no operator answered in time; the max fee is refunded.`);
        if (Date.now() > deadline) throw new UserError(`Job ${jobId} is still ${job.status} after 3 minutes; it is refunded if it expires.`);
        await new Promise((res) => setTimeout(res, 2_000));
      }
    }

    /** Polls the chain until the worker's settlement puts the receipt there (up to 3 minutes). */
    async function followReceipt(m: Model, rid: string) {
      const deadline = Date.now() + 180_000;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 3_000));
        const rs = await rpc<Receipt[]>(chain, 'attribution_getReceiptsByModel', [m.id, 0, 1000]).catch(() => []);
        const r = rs.find((x) => x.requestId === rid);
        if (r) {
          update((x) => ({ ...x, receipt: r, credits: x.credits?.map((c) => ({ ...c, paid: paidTo(r, c.id) })) }));
          return;
        }
      }
      update((x) => ({ ...x, note: 'The receipt has not reached the chain within 3 minutes; the worker settles it when the node is reachable.' }));
    }
  };

  return (
    <section>
      <h1>Chat</h1>
      <Loaded state={setup}>
        {({ health, models }) => (
          <>
            <p className="muted">
              Worker: {health.model}, {health.status}
              {health.settlement ? `; paid by voucher to operator ${health.settlement.operator.slice(0, 8)}…` : '; unpaid'}.
            </p>
            <p className="muted" data-testid="chat-payment">
              {account && !account.pair
                ? 'Your wallet extension pays on chain: the question and its max fee go in a transaction, and the answer arrives in a few blocks.'
                : health.settlement
                  ? 'Paid with a voucher signed here: the worker streams the answer and settles the receipt on chain.'
                  : 'This worker serves unpaid requests.'}
            </p>
            {models.length === 0 ? (
              <p role="alert">No registered model is served by this worker: register its base model on the Models page first.</p>
            ) : (
              <div className="grid">
                <Select label="Model" value={modelId || String(models[0].id)} onChange={setModelId} options={models.map((m): [string, string] => [String(m.id), `Model ${m.id} · ${fmtOpen(m.pricePer1kTokens)} / 1k tokens`])} testId="chat-model" />
                <Field label="Max tokens" value={maxTokens} onChange={setMaxTokens} />
                <Field label="Most I pay (OPEN)" value={maxFee} onChange={setMaxFee} hint="The cap; you pay only the tokens used." testId="chat-max-fee" />
              </div>
            )}
          </>
        )}
      </Loaded>
      <ol className="turns" aria-live="polite">
        {turns.map((t, i) => (
          <li key={i} className="turn" data-testid={`turn-${i}`}>
            <p className="q">
              <strong>You:</strong> {t.question}
            </p>
            <p className="a" data-testid={`answer-${i}`}>
              <strong>Model {t.model.id}:</strong> {t.answer || <span className="muted">…</span>}
            </p>
            {t.record && <Attribution t={t} i={i} />}
          </li>
        ))}
      </ol>
      <div className="field">
        <label htmlFor="question">Question</label>
        <textarea id="question" rows={3} value={question} onChange={(e) => setQuestion(e.target.value)} data-testid="chat-question" />
      </div>
      <Action label="Ask" kind="primary" run={ask} testId="chat-ask" />
    </section>
  );
}

function Attribution({ t, i }: { t: Turn; i: number }) {
  const r = t.record!;
  const fee = r.settlement?.fee;
  return (
    <div className="attribution" data-testid={`attribution-${i}`}>
      <p className="muted">
        {r.prompt_tokens} prompt + {r.completion_tokens} answer tokens{fee ? <> · fee <Open v={fee} /></> : null}
        {t.receipt ? <> · receipt on chain, claimable from block {t.receipt.claimableAt}</> : fee ? ' · receipt pending settlement' : null}
      </p>
      {t.credits && t.credits.length > 0 ? (
        <>
          <h3>Sources credited</h3>
          <ul>
            {t.credits.map((c) => (
              <li key={c.id} data-testid={`credit-${c.id}`}>
                Contribution <a href={`#/datanets/${c.c?.datanet ?? ''}`}>#{c.id}</a>
                {c.c && (
                  <>
                    {' '}
                    ({c.c.metadataUri || 'no URI'}, <Hash h={c.c.contentHash} />)
                  </>
                )}{' '}
                · {(c.ppm / 10_000).toFixed(1)}% of the answer ·{' '}
                {c.paid !== undefined ? (
                  <span data-testid={`credit-paid-${c.id}`}>
                    earned <Open v={c.paid} />
                  </span>
                ) : (
                  <span>
                    earns about <Open v={c.estimate} />
                  </span>
                )}
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p className="muted">No contribution was credited: the answer matched nothing in the datanet, so the contributors' share goes to the treasury.</p>
      )}
      {r.citations && r.citations.length > 0 && (
        <>
          <h3>Retrieved passages</h3>
          <ul>
            {r.citations.map((c, k) => (
              <li key={k}>
                #{c.contribution} {c.used ? '(used)' : '(not used)'}: “{c.passage.slice(0, 160)}”
              </li>
            ))}
          </ul>
        </>
      )}
      {t.note && <p className="error" role="alert">{t.note}</p>}
    </div>
  );
}
