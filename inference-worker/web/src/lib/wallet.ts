// Accounts that sign: the well-known development keys (on a development chain only), accounts
// injected by a Substrate wallet extension (Polkadot.js, Talisman, SubWallet … through
// `window.injectedWeb3`), and an Ethereum wallet (MetaMask, EIP-1193) for the calls the chain
// exposes as precompiles.
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Signer } from '@polkadot/api/types';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { UserError, withDeadline } from './chain';

/** An account the app can sign with. */
export interface Account {
  address: string;
  name: string;
  source: 'dev' | 'injected';
  /** A development key, held by the page. */
  pair?: KeyringPair;
  /** An extension's signer. */
  signer?: Signer;
}

const DEV_NAMES = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];

/** The development accounts (`//Alice` … and their `//stash`), in the chain's format. */
export async function devAccounts(ss58: number): Promise<Account[]> {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: ss58 });
  return DEV_NAMES.flatMap((n) => [
    { address: '', name: n, source: 'dev' as const, pair: keyring.addFromUri(`//${n}`) },
    { address: '', name: `${n} stash`, source: 'dev' as const, pair: keyring.addFromUri(`//${n}//stash`) },
  ]).map((a) => ({ ...a, address: a.pair.address }));
}

/** Accounts of the installed Substrate wallet extensions (asks for access once). */
export async function injectedAccounts(ss58: number): Promise<Account[]> {
  const { web3Enable, web3Accounts, web3FromSource } = await import('@polkadot/extension-dapp');
  // An extension asks its user to allow the page; give them a minute, not forever.
  const extensions = await withDeadline(web3Enable('Provena Studio'), 60_000, 'The wallet extension did not answer within a minute.');
  if (extensions.length === 0) {
    throw new UserError('No Substrate wallet extension (Polkadot.js, Talisman, SubWallet) is installed or it refused access.');
  }
  const accounts = await web3Accounts({ ss58Format: ss58, accountType: ['sr25519', 'ed25519'] });
  const out: Account[] = [];
  for (const a of accounts) {
    const injector = await web3FromSource(a.meta.source);
    out.push({ address: a.address, name: `${a.meta.name ?? 'account'} (${a.meta.source})`, source: 'injected', signer: injector.signer });
  }
  return out;
}

/**
 * Signs `payload` (hex) exactly as given, as the chain's vouchers need. Extensions' `signRaw`
 * wraps the bytes in `<Bytes>…</Bytes>` for safety, which the chain does not accept for a
 * voucher, so only page-held keys sign vouchers; an extension account pays on chain instead.
 */
export function signBare(account: Account, payload: string): string {
  if (!account.pair) {
    throw new UserError('A wallet extension cannot sign a bare voucher; its account pays on chain instead.');
  }
  return u8aToHex(account.pair.sign(hexToU8a(payload)));
}

/** An EIP-1193 provider (MetaMask), if the browser has one. */
export interface Eip1193 {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

export function ethereumProvider(): Eip1193 | undefined {
  return (window as unknown as { ethereum?: Eip1193 }).ethereum;
}
