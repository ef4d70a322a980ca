// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

// Where the governance precompile lives.
address constant GOVERNANCE_PRECOMPILE = 0x000000000000000000000000000000000c000000;

/// @title Provena governance from an Ethereum wallet or contract
/// @notice Vote on referenda and delegate, with the OPEN of `msg.sender` (its chain account is
/// `msg.sender ++ 0xEE * 12`). The same calls as `convictionVoting.*` on the Substrate side.
/// @dev `conviction`: 0 counts ×0.1 and locks only while the vote stands; 1 to 6 count ×1 to ×6
/// and lock the balance 1, 2, 4, 8, 16 or 32 lock periods (7 days each) after a referendum that
/// went the vote's way. A refused call reverts with `Governance: <reason>` (e.g. `NotOngoing`,
/// `InsufficientFunds`, `AlreadyDelegating`, `MaxVotesReached`).
interface IGovernance {
    /// @notice Votes aye or nay on an ongoing referendum (replacing an earlier vote on it), with
    /// `balance` wei locked; the caller's contribution power at the referendum's snapshot counts
    /// too.
    function vote(uint32 referendum, bool aye, uint8 conviction, uint256 balance) external;

    /// @notice Removes the caller's vote on `referendum` of `track` (from its tally while it is
    /// ongoing; afterwards recording how long the balance stays locked).
    function removeVote(uint16 track, uint32 referendum) external;

    /// @notice Delegates `balance` wei with `conviction` in `track` to the account `to` (32
    /// bytes). The caller must have no votes in the track.
    function delegate(uint16 track, bytes32 to, uint8 conviction, uint256 balance) external;

    /// @notice Ends the caller's delegation in `track`.
    function undelegate(uint16 track) external;

    /// @notice Lowers the caller's voting lock for `track` to what its votes still need.
    function unlock(uint16 track) external;

    /// @notice The contribution power of the account `who` (32 bytes) now, in wei.
    function contributionPower(bytes32 who) external view returns (uint256);
}
