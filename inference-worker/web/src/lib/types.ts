// The JSON shapes of Provena's RPC methods (amounts are decimal strings of base units).
import { rpc, type Chain } from './chain';

export interface Datanet {
  id: number;
  owner: string;
  name: string;
  descriptionUri: string;
  domain: string;
  license: string;
  visibility: 'Public' | 'Private';
  contributionStake: string;
  maxContributionBytes: number;
  open: boolean;
  curators: string[];
  createdAt: number;
  contributionCount: number;
  acceptedCount: number;
  snapshotCount: number;
  rewardPool: string;
}

export type Status = 'Pending' | 'Rejected' | 'Slashed' | 'Withdrawn' | { Accepted: { quality: number } } | Record<string, unknown>;

export interface Contribution {
  id: number;
  datanet: number;
  contributor: string;
  contentHash: string;
  byteSize: number;
  tokenCount: number;
  metadataUri: string;
  license: string;
  status: Status;
  stakeHeld: string;
  stakeUnlocksAt: number;
  submittedAt: number;
  reviewer?: string | null;
  reviewedAt?: number | null;
}

export interface Snapshot {
  datanet: number;
  version: number;
  root: string;
  members: number[];
  publisher: string;
  publishedAt: number;
}

export interface Model {
  id: number;
  owner: string;
  kind: unknown;
  weightsHash: string;
  trainingConfigHash: string;
  trainedOn: [number, number][];
  pricePer1kTokens: string;
  developerSharePpm: number;
  metadataUri: string;
  predecessor: number | null;
  [k: string]: unknown;
}

export interface RewardInfo {
  earned: string;
  claimed: string;
  claimable: string;
  pending: string;
  frozen: string;
}

export interface Receipt {
  id?: number;
  requestId: string;
  model: number;
  user: string;
  operator: string;
  fee: string;
  attribution: [number, number][];
  payouts: [Record<string, unknown>, string][];
  claimableAt: number;
  [k: string]: unknown;
}

/** What `receipt` pays contribution `id`, in base units. */
export function paidTo(receipt: Receipt, id: number): bigint {
  return receipt.payouts.filter(([p]) => (p as { contribution?: number }).contribution === id).reduce((a, [, v]) => a + BigInt(v), 0n);
}

export function statusText(s: Status): string {
  if (typeof s === 'string') return s;
  if ('Accepted' in s) return `Accepted (quality ${(s as { Accepted: { quality: number } }).Accepted.quality})`;
  return Object.keys(s)[0] ?? 'unknown';
}

export function isPending(s: Status): boolean {
  return s === 'Pending' || (typeof s === 'object' && 'Pending' in s);
}

export function isAccepted(s: Status): boolean {
  return typeof s === 'object' && 'Accepted' in s;
}

/** Every datanet, in id order. */
export async function allDatanets(chain: Chain): Promise<Datanet[]> {
  const next = Number((await chain.api.query.datanets.nextDatanetId()).toString());
  const all = await Promise.all(Array.from({ length: next }, (_, i) => rpc<Datanet | null>(chain, 'datanets_getDatanet', [i])));
  return all.filter((d): d is Datanet => d !== null);
}

/** A datanet's contributions (pages of 100). */
export async function contributionsOf(chain: Chain, d: Datanet): Promise<Contribution[]> {
  const out: Contribution[] = [];
  for (let start = 0; start < d.contributionCount; start += 100) {
    out.push(...(await rpc<Contribution[]>(chain, 'datanets_getContributions', [d.id, start, 100])));
  }
  return out;
}

/** Every model, in id order. */
export async function allModels(chain: Chain): Promise<Model[]> {
  const next = Number((await chain.api.query.models.nextModelId()).toString());
  const all = await Promise.all(Array.from({ length: next }, (_, i) => rpc<Model | null>(chain, 'models_getModel', [i])));
  return all.filter((m): m is Model => m !== null);
}
