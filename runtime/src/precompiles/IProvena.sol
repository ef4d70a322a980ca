// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

// Where the Provena precompile lives.
address constant PROVENA_PRECOMPILE = 0x000000000000000000000000000000000B000000;

/// @title Provena from Solidity
/// @notice Datanets, contributions, model prices and inference vouchers of the Provena chain,
/// for any EVM contract. Call the precompile like a contract:
/// `IProvena(PROVENA_PRECOMPILE).modelPrice(7)`.
/// @dev Accounts are the chain's 32-byte account ids. An Ethereum address `a` is the account
/// `a ++ 0xEE * 12` (left-aligned in the bytes32).
interface IProvena {
    /// @notice A datanet's public facts (see `datanet`).
    struct Datanet {
        /// Whether the datanet exists (all other fields are zero when not).
        bool exists;
        /// The owner's account id.
        bytes32 owner;
        /// The datanet's name (UTF-8).
        string name;
        /// Whether anyone may use its snapshots (false: only granted operators).
        bool isPublic;
        /// Whether it accepts contributions.
        bool open;
        /// Contributions ever submitted.
        uint32 contributionCount;
        /// Contributions accepted by curators.
        uint32 acceptedCount;
        /// Snapshots published.
        uint32 snapshotCount;
        /// The stake (in wei = OPEN base units) a contribution holds.
        uint256 contributionStake;
    }

    /// @notice A datanet's public facts. For an unknown id `exists` is false and the rest zero.
    /// @param id The datanet id.
    function datanet(uint32 id) external view returns (Datanet memory);

    /// @notice A contribution's review status.
    /// @param id The contribution id.
    /// @return status 0 unknown, 1 pending, 2 accepted, 3 rejected, 4 slashed, 5 withdrawn.
    /// @return quality The curator's quality score (0 to 100) when accepted, else 0.
    /// @return datanetId The datanet it was submitted to (0 when unknown).
    /// @return contributor The contributor's account id (zero when unknown).
    function contributionStatus(uint64 id)
        external
        view
        returns (uint8 status, uint8 quality, uint32 datanetId, bytes32 contributor);

    /// @notice A model's inference price.
    /// @param id The model id.
    /// @return exists Whether the model is registered.
    /// @return active Whether it is active (a deprecated model takes no new receipts).
    /// @return pricePer1kTokens The fee per 1,000 tokens (input + output), in wei.
    function modelPrice(uint64 id) external view returns (bool exists, bool active, uint256 pricePer1kTokens);

    /// @notice Prepays an inference voucher from the calling contract (`msg.sender` is the user):
    /// holds `maxFee` wei of its balance until `operator` redeems the voucher with a receipt
    /// (the fee, at most `maxFee`, is charged and the rest released) or until it expires.
    /// Reverts with `Provena: <reason>` (e.g. `NotOperator`, `UnknownModel`, `AlreadyPrepaid`,
    /// `VoucherExpired`, `ZeroMaxFee`) or when the balance cannot cover `maxFee`.
    /// @param requestId The request id the operator will name in its receipt (once per user).
    /// @param model The model to be served.
    /// @param maxFee The most the inference may cost, in wei.
    /// @param operator The only operator that may redeem it (a 32-byte account id).
    /// @param expiresAt The last block in which it may be redeemed.
    function prepayVoucher(bytes32 requestId, uint64 model, uint256 maxFee, bytes32 operator, uint32 expiresAt)
        external;

    /// @notice Releases the caller's expired, unredeemed prepaid voucher: the held `maxFee`
    /// becomes spendable again. Reverts with `Provena: VoucherNotExpired` or `NotPrepaid`.
    function releaseVoucher(bytes32 requestId) external;

    /// @notice The caller's open prepaid voucher for `requestId`, if any.
    /// @return exists Whether it exists (prepaid, not yet redeemed or released).
    /// @return model The model.
    /// @return maxFee The held amount, in wei.
    /// @return expiresAt Its last block.
    function prepaidVoucher(address user, bytes32 requestId)
        external
        view
        returns (bool exists, uint64 model, uint256 maxFee, uint32 expiresAt);
}
