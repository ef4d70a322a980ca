// The inference worker's HTTP API (same origin as the app by default): health, the OpenAI
// chat API with server-sent events and the `provena` record, and fine-tuning jobs.
import { UserError, errorText, withDeadline } from './chain';

export interface Health {
  status: string;
  model: string;
  base_hash: string;
  settlement?: { operator: string; unsettled: number; vouchers_required: boolean } | null;
}

/** What the last chunk of an answer carries besides text. */
export interface ProvenaRecord {
  request_id: string;
  base_model: string;
  prompt_tokens: number;
  completion_tokens: number;
  attribution?: { weights?: { contribution: number; ppm: number }[]; pool_ppm?: number; evidence_hash?: string; error?: string };
  citations?: { contribution: number; passage: string; score: number; used: boolean }[];
  receipt: { weights: { contribution: number; ppm: number }[]; pool?: { datanet: number; ppm: number } | null; evidence_hash: string };
  settlement?: { requestId: string; fee: string; status?: string } & Record<string, unknown>;
}

export class Worker {
  constructor(
    public base: string,
    public apiKey = '',
    public adminKey = '',
  ) {}

  private headers(admin: boolean, extra: Record<string, string> = {}): Record<string, string> {
    const key = admin ? this.adminKey : this.apiKey;
    return { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
  }

  /** A JSON request; a non-2xx answer becomes its error message. */
  async json<T>(path: string, init: RequestInit & { admin?: boolean } = {}): Promise<T> {
    let res: Response;
    try {
      res = await withDeadline(
        fetch(this.base + path, { ...init, headers: { ...this.headers(init.admin ?? false), ...(init.headers as Record<string, string>) } }),
        20_000,
        `The inference worker at ${this.base || location.origin} did not answer within 20 s.`,
      );
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`Cannot reach the inference worker at ${this.base || location.origin}: ${errorText(e)}`);
    }
    return readJson<T>(res);
  }

  health(): Promise<Health> {
    return this.json<Health>('/health');
  }

  /**
   * A streamed chat answer: `onText` gets each piece as it comes; resolves with the record of
   * the last chunk. `voucher` (a signed voucher's JSON) pays for it.
   */
  async chat(
    body: Record<string, unknown>,
    voucher: string | undefined,
    onText: (t: string) => void,
    signal?: AbortSignal,
  ): Promise<ProvenaRecord> {
    let res: Response;
    try {
      res = await fetch(this.base + '/v1/chat/completions', {
        method: 'POST',
        headers: this.headers(false, voucher ? { 'x-provena-voucher': voucher } : {}),
        body: JSON.stringify({ ...body, stream: true }),
        signal,
      });
    } catch (e) {
      throw new UserError(`Cannot reach the inference worker: ${errorText(e)}`);
    }
    if (!res.ok || !res.body) await readJson(res);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let record: ProvenaRecord | undefined;
    let finished = false;
    // Each read may stall (a long queue): the stream has keep-alives, so 60 s of silence is dead.
    for (;;) {
      const { value, done } = await withDeadline(reader.read(), 60_000, 'The worker stopped answering mid-stream.');
      if (done) break;
      buffer += value;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        for (const line of event.split('\n')) {
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') {
            finished = true;
            continue;
          }
          const chunk = JSON.parse(data);
          if (chunk.error) throw new UserError(`The worker failed: ${chunk.error.message}`);
          const piece = chunk.choices?.[0]?.delta?.content;
          if (piece) onText(piece);
          if (chunk.provena) record = chunk.provena;
        }
      }
    }
    if (!finished || !record) throw new UserError('The answer ended before it was complete.');
    return record;
  }
}

/** The body of `res` as JSON, or its error as a user message. */
export async function readJson<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const err = (body as { error?: { message?: string; code?: string } } | null)?.error;
    const why = err?.message ?? (text.slice(0, 200) || res.statusText);
    if (res.status === 401) throw new UserError(`The worker wants an API key: ${why}`);
    if (res.status === 402) throw new UserError(`Payment refused: ${why}`);
    if (res.status === 429) throw new UserError(`The worker is busy (429): ${why} — retry in a moment.`);
    throw new UserError(`The worker refused (${res.status}): ${why}`);
  }
  return body as T;
}
