// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

// Where the agents precompile lives.
address constant AGENTS_PRECOMPILE = 0x000000000000000000000000000000000D000000;

/// @title Backing Provena's agents from an Ethereum wallet or contract
/// @notice Delegate OPEN to an agent (an inference operator), take it back, claim its rewards,
/// with the OPEN of `msg.sender` (its chain account is `msg.sender ++ 0xEE * 12`). The same
/// calls as `agents.*` on the Substrate side.
/// @dev Delegated stake shares the agent's slashes in proportion, including while it unbonds
/// (7 eras); nothing is withdrawn while a slash of the agent is pending. A refused call reverts
/// with `Agents: <reason>` (e.g. `NotActive`, `DelegationTooLow`, `SlashPending`).
interface IAgents {
    /// @notice Delegates `amount` wei to the active agent `agent` (32 bytes).
    function delegate(bytes32 agent, uint256 amount) external;

    /// @notice Starts unbonding `amount` wei of the caller's delegation to `agent` (all of it if
    /// `amount` is more); what stays must be at least the least delegation.
    function undelegate(bytes32 agent, uint256 amount) external;

    /// @notice Pays the caller's unlocked unbonding stake from `agent` back to it.
    function withdrawUnbonded(bytes32 agent) external;

    /// @notice Pays the caller its rewards from `agent`.
    function claimRewards(bytes32 agent) external;

    /// @notice The stake of `member` in `agent`: active, unbonding (both at today's value) and
    /// the rewards `claimRewards` would pay now, in wei.
    function delegation(bytes32 agent, bytes32 member)
        external
        view
        returns (uint256 stake, uint256 unbonding, uint256 pendingRewards);

    /// @notice Whether `agent` is an agent serving now, and its whole active stake in wei.
    function agentStake(bytes32 agent) external view returns (bool active, uint256 totalStake);
}
