// What a wallet's referenda page does, with polkadot.js against a Provena node: read the
// tracks, submit a referendum and place its decision deposit, vote with conviction through
// `convictionVoting.vote`, and read the referendum's tally, the voter's votes and its locks
// back through the standard storage types. Prints one JSON report line; exits non-zero on any
// mismatch.
//
// Environment: PROVENA_WS (the node's WebSocket RPC URL).

import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { cryptoWaitReady } from '@polkadot/util-crypto';

const OPEN = 10n ** 18n;

function check(cond, what) {
  if (!cond) {
    throw new Error(`check failed: ${what}`);
  }
}

// Signs and sends `tx`, resolving with its events once it is in a block; rejects on a
// dispatch error (named by pallet and variant).
function send(api, tx, signer) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        const d = dispatchError.isModule ? api.registry.findMetaError(dispatchError.asModule) : null;
        reject(new Error(d ? `${d.section}.${d.name}` : dispatchError.toString()));
      } else if (status.isInBlock) {
        resolve(events);
      }
    }).catch(reject);
  });
}

async function main() {
  await cryptoWaitReady();
  const api = await ApiPromise.create({ provider: new WsProvider(process.env.PROVENA_WS), noInitWarn: true });
  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice');
  // A voter with no other votes or locks.
  const voter = keyring.addFromUri('//Ferdie');

  // The tracks, as the referenda page lists them.
  // Names are fixed-size byte arrays, padded with NULs, as every wallet shows them trimmed.
  const tracks = api.consts.referenda.tracks.map(([id, info]) => [
    id.toNumber(),
    info.name.toString().replace(/\0+$/, ''),
  ]);
  check(
    JSON.stringify(tracks) ===
      JSON.stringify([[0, 'root'], [1, 'treasurer'], [2, 'parameters'], [3, 'admission'], [4, 'disputes']]),
    `tracks ${JSON.stringify(tracks)}`,
  );

  // Alice proposes a remark on the disputes track (the cheapest decision deposit) and places
  // the deposit.
  const index = (await api.query.referenda.referendumCount()).toNumber();
  const proposal = api.tx.system.remark('0x70726f76656e61').method.toHex();
  await send(
    api,
    api.tx.referenda.submit({ Origins: 'DisputeResolver' }, { Inline: proposal }, { After: 1 }),
    alice,
  );
  await send(api, api.tx.referenda.placeDecisionDeposit(index), alice);

  // Ferdie votes aye with 1,000 OPEN at ×2.
  const balance = 1000n * OPEN;
  const events = await send(
    api,
    api.tx.convictionVoting.vote(index, {
      Standard: { vote: { aye: true, conviction: 'Locked2x' }, balance },
    }),
    voter,
  );
  const voted = events.find(({ event }) => api.events.convictionVoting.Voted.is(event));
  check(voted !== undefined, 'a Voted event');

  const info = await api.query.referenda.referendumInfoFor(index);
  check(info.isSome && info.unwrap().isOngoing, `referendum ${index} is ongoing: ${info.toString()}`);
  const ongoing = info.unwrap().asOngoing;
  const tally = ongoing.tally;
  check(ongoing.track.toNumber() === 4, 'on the disputes track');
  check(tally.ayes.toBigInt() === 2n * balance, `ayes ${tally.ayes.toString()}`);
  check(tally.support.toBigInt() === balance, `support ${tally.support.toString()}`);
  check(tally.nays.toBigInt() === 0n, 'no nays');

  const voting = await api.query.convictionVoting.votingFor(voter.address, 4);
  check(voting.isCasting, 'Ferdie casts votes in the disputes class');
  const [[votedOn, vote]] = voting.asCasting.votes;
  check(votedOn.toNumber() === index, 'on the referendum');
  check(vote.isStandard && vote.asStandard.vote.isAye, 'an aye');
  check(vote.asStandard.vote.conviction.toString() === 'Locked2x', 'at ×2');
  check(vote.asStandard.balance.toBigInt() === balance, 'with 1,000 OPEN');

  const classLocks = await api.query.convictionVoting.classLocksFor(voter.address);
  check(
    classLocks.length === 1 && classLocks[0][0].toNumber() === 4 && classLocks[0][1].toBigInt() === balance,
    `class locks ${classLocks.toString()}`,
  );
  const locks = await api.query.balances.locks(voter.address);
  check(
    locks.some((l) => l.id.toUtf8() === 'pyconvot' && l.amount.toBigInt() === balance),
    `balance locks ${locks.toString()}`,
  );

  console.log(
    JSON.stringify({
      index,
      track: ongoing.track.toNumber(),
      ayes: tally.ayes.toString(),
      support: tally.support.toString(),
      tracks: tracks.map(([, name]) => name),
    }),
  );
  await api.disconnect();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
