// The node: one polkadot.js connection (metadata-driven calls and storage) and Provena's own
// RPC methods (`datanets_*`, `models_*`, `attribution_*`, `inference_*`) over the same socket.
// Every wait has a deadline, and every failure becomes a sentence a user can act on.
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { DispatchError, EventRecord } from '@polkadot/types/interfaces';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import type { Account } from './wallet';

/** A live connection to a node. */
export interface Chain {
  api: ApiPromise;
  provider: WsProvider;
  url: string;
  /** A development or local chain: the well-known dev keys are offered. */
  dev: boolean;
  genesis: string;
  ss58: number;
}

/** An error whose message is meant for the user as it is. */
export class UserError extends Error {}

const CONNECT_MS = 8_000;
const RPC_MS = 20_000;
const INCLUSION_MS = 90_000;

/** Rejects with `message` after `ms` unless `p` settles first. */
export function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new UserError(message)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** Connects to the node at `url` (a WebSocket URL), or says why it cannot. */
export async function connect(url: string): Promise<Chain> {
  if (!/^wss?:\/\//.test(url)) throw new UserError(`"${url}" is not a WebSocket URL (ws://… or wss://…)`);
  const provider = new WsProvider(url, 2_500);
  try {
    const api = await withDeadline(
      ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: true }),
      CONNECT_MS,
      `Cannot reach the Provena node at ${url}: is it running, and does it allow this page's origin (--rpc-cors)?`,
    );
    const chainType = await api.rpc.system.chainType();
    setDisplayFormat(api.registry.chainSS58 ?? 42);
    return {
      api,
      provider,
      url,
      dev: chainType.isDevelopment || chainType.isLocal,
      genesis: api.genesisHash.toHex(),
      ss58: api.registry.chainSS58 ?? 42,
    };
  } catch (e) {
    void provider.disconnect().catch(() => undefined);
    if (e instanceof UserError) throw e;
    throw new UserError(`Cannot reach the Provena node at ${url}: ${errorText(e)}`);
  }
}

/** A Provena RPC method, with a deadline. */
export function rpc<T>(chain: Chain, method: string, params: unknown[] = []): Promise<T> {
  if (!chain.provider.isConnected) {
    return Promise.reject(new UserError(`The node at ${chain.url} is unreachable; retrying in the background.`));
  }
  return withDeadline(
    chain.provider.send<T>(method, params),
    RPC_MS,
    `The node did not answer ${method} within ${RPC_MS / 1000} s.`,
  );
}

/** An address as the node's RPC takes it (the generic SS58 format). */
export function rpcAddress(address: string): string {
  return encodeAddress(decodeAddress(address), 42);
}

/** An address in the chain's own SS58 format. */
export function chainAddress(chain: Chain, address: string): string {
  try {
    return encodeAddress(decodeAddress(address), chain.ss58);
  } catch {
    return address;
  }
}

let displayFormat = 42;

/** Addresses are shown in `ss58`, the connected chain's format. */
export function setDisplayFormat(ss58: number) {
  displayFormat = ss58;
}

/** An address as the page shows it (the chain's format; the RPC answers in the generic one). */
export function displayAddress(address: string): string {
  try {
    return encodeAddress(decodeAddress(address), displayFormat);
  } catch {
    return address;
  }
}

/** Whether two SS58 addresses name the same account. */
export function sameAccount(a: string, b: string): boolean {
  try {
    return rpcAddress(a) === rpcAddress(b);
  } catch {
    return false;
  }
}

export const DECIMALS = 18n;
const UNIT = 10n ** DECIMALS;

/** `x` base units as OPEN with at most `digits` decimals (trailing zeros dropped). */
export function fmtOpen(x: string | number | bigint, digits = 4): string {
  const v = BigInt(x);
  const neg = v < 0n;
  const a = neg ? -v : v;
  const whole = a / UNIT;
  const frac = (a % UNIT).toString().padStart(Number(DECIMALS), '0').slice(0, digits).replace(/0+$/, '');
  const w = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const tiny = whole === 0n && frac === '' && a > 0n;
  return `${neg ? '-' : ''}${tiny ? '<0.' + '0'.repeat(digits - 1) + '1' : w + (frac ? '.' + frac : '')} OPEN`;
}

/** A price in base units per whole token, with 4 significant digits (token prices are tiny). */
export function fmtPrice(x: string | bigint): string {
  const v = Number(BigInt(x)) / 1e18;
  if (v === 0) return '0 OPEN';
  return `${v >= 1 ? v.toLocaleString('en', { maximumFractionDigits: 4 }) : v.toPrecision(4)} OPEN`;
}

/** A decimal OPEN amount typed by a user, in base units; throws a message on bad input. */
export function parseOpen(s: string, what = 'amount'): bigint {
  const t = s.trim().replace(/,/g, '');
  const m = /^(\d+)(?:\.(\d{0,18}))?$/.exec(t);
  if (!m) throw new UserError(`The ${what} "${s}" is not a number of OPEN (e.g. 1.5, at most 18 decimals).`);
  return BigInt(m[1]) * UNIT + BigInt((m[2] ?? '').padEnd(18, '0') || '0');
}

/** The text of any thrown value. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

/** A dispatch error as `pallet.Error: its documentation`. */
export function dispatchErrorText(chain: Chain, err: DispatchError): string {
  if (err.isModule) {
    const meta = chain.api.registry.findMetaError(err.asModule);
    const docs = meta.docs.join(' ').trim();
    return `${meta.section}.${meta.name}${docs ? `: ${docs}` : ''}`;
  }
  if (err.isToken) {
    const t: string = err.asToken.type;
    if (t === 'FundsUnavailable' || t === 'NoFunds') return 'Insufficient balance: the account cannot pay this.';
    return `Token error: ${t}`;
  }
  if (err.isArithmetic) return `Arithmetic error: ${err.asArithmetic.type}`;
  return err.type;
}

/** What a transaction pool or signer error means to a user. */
export function submitErrorText(e: unknown): string {
  const t = errorText(e);
  if (/Inability to pay some fees|balance too low|InsufficientBalance|FundsUnavailable/i.test(t)) {
    return 'Insufficient balance: the account cannot pay this transaction (its fee, deposit or stake).';
  }
  if (/Cancelled|Rejected|rejected by user|User denied/i.test(t)) return 'You rejected the signature request; nothing was sent.';
  if (/Priority is too low|AlreadyImported|Stale/i.test(t)) return 'A transaction from this account is already pending; wait for it and retry.';
  return t;
}

/** The result of an included transaction. */
export interface Included {
  blockHash: string;
  blockNumber: number;
  events: EventRecord[];
}

/**
 * Signs `tx` as `account`, sends it and waits until it is in a block. Rejects with a user
 * message when the signature is refused, the pool refuses it, it fails in the block (the
 * pallet's error and its documentation) or it is not included within the deadline.
 */
export async function submit(
  chain: Chain,
  account: Account,
  tx: SubmittableExtrinsic<'promise'>,
  onStatus?: (s: string) => void,
): Promise<Included> {
  if (!chain.provider.isConnected) throw new UserError(`The node at ${chain.url} is unreachable; nothing was sent.`);
  let unsub: (() => void) | undefined;
  const done = new Promise<Included>((resolve, reject) => {
    const options = account.pair ? {} : { signer: account.signer };
    const who = account.pair ?? account.address;
    onStatus?.('Waiting for the signature…');
    tx.signAndSend(who, options, (result) => {
      const { status, dispatchError, events } = result;
      if (status.isReady || status.isBroadcast) onStatus?.('Sent; waiting for a block…');
      if (status.isInvalid || status.isDropped || status.isUsurped) {
        reject(new UserError(`The transaction was ${status.type.toLowerCase()} by the pool.`));
        return;
      }
      if (status.isInBlock) {
        if (dispatchError) {
          reject(new UserError(dispatchErrorText(chain, dispatchError)));
          return;
        }
        // A batch reports its failed call as an event rather than a dispatch error.
        for (const { event } of events) {
          if (chain.api.events.utility.BatchInterrupted?.is(event)) {
            reject(new UserError(dispatchErrorText(chain, event.data[1] as DispatchError)));
            return;
          }
        }
        const blockHash = status.asInBlock.toHex();
        void chain.api.rpc.chain
          .getHeader(blockHash)
          .then((h) => resolve({ blockHash, blockNumber: h.number.toNumber(), events }))
          .catch(() => resolve({ blockHash, blockNumber: 0, events }));
      }
    })
      .then((u) => {
        unsub = u;
      })
      .catch((e) => reject(new UserError(submitErrorText(e))));
  });
  try {
    return await withDeadline(done, INCLUSION_MS, `The transaction was not included within ${INCLUSION_MS / 1000} s; check the node.`);
  } finally {
    unsub?.();
  }
}

/** The best block number. */
export async function bestNumber(chain: Chain): Promise<number> {
  const h = await withDeadline(chain.api.rpc.chain.getHeader(), RPC_MS, 'The node did not answer chain_getHeader.');
  return h.number.toNumber();
}

/** An account's free balance, in base units. */
export async function freeBalance(chain: Chain, address: string): Promise<bigint> {
  const info = await withDeadline(chain.api.query.system.account(address), RPC_MS, 'The node did not answer a balance query.');
  return (info as unknown as { data: { free: { toBigInt(): bigint } } }).data.free.toBigInt();
}

/** The named fields of the first `section.method` event of an included transaction. */
export function eventData(inc: Included, section: string, method: string): Record<string, unknown> | undefined {
  for (const { event } of inc.events) {
    if (event.section === section && event.method === method) {
      const vals = event.data.toJSON() as unknown[];
      const names = (event.data as unknown as { names?: string[] | null }).names ?? vals.map((_, i) => String(i));
      return Object.fromEntries(names.map((n, i) => [n, vals[i]]));
    }
  }
  return undefined;
}
