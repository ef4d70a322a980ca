// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import "IProvena.sol";

/// @title A contract that reads Provena and pays for inference out of its own balance.
contract InferenceClient {
    IProvena constant PROVENA = IProvena(PROVENA_PRECOMPILE);
    address public immutable owner;

    event InferencePaid(bytes32 indexed requestId, uint64 indexed model, uint256 maxFee);

    constructor() payable {
        owner = msg.sender;
    }

    receive() external payable {}

    /// The price of `model` for `tokens` tokens, rounded up as the chain charges it.
    function quote(uint64 model, uint256 tokens) external view returns (uint256) {
        (bool exists, bool active, uint256 per1k) = PROVENA.modelPrice(model);
        require(exists && active, "model not available");
        return (per1k * tokens + 999) / 1000;
    }

    function modelPrice(uint64 model) external view returns (bool, bool, uint256) {
        return PROVENA.modelPrice(model);
    }

    function datanetSummary(uint32 id)
        external
        view
        returns (bool exists, bytes32 owner_, string memory name, uint32 accepted, uint256 stake)
    {
        IProvena.Datanet memory d = PROVENA.datanet(id);
        return (d.exists, d.owner, d.name, d.acceptedCount, d.contributionStake);
    }

    function contribution(uint64 id) external view returns (uint8, uint8, uint32, bytes32) {
        return PROVENA.contributionStatus(id);
    }

    /// Prepays an inference of `model` (at most `maxFee` wei) to be served by `operator`.
    function payForInference(bytes32 requestId, uint64 model, uint256 maxFee, bytes32 operator, uint32 expiresAt)
        external
    {
        require(msg.sender == owner, "only the owner spends");
        PROVENA.prepayVoucher(requestId, model, maxFee, operator, expiresAt);
        emit InferencePaid(requestId, model, maxFee);
    }

    /// Like `payForInference`, but returns the precompile's revert reason instead of reverting.
    function tryPay(bytes32 requestId, uint64 model, uint256 maxFee, bytes32 operator, uint32 expiresAt)
        external
        returns (string memory)
    {
        try PROVENA.prepayVoucher(requestId, model, maxFee, operator, expiresAt) {
            return "";
        } catch Error(string memory reason) {
            return reason;
        }
    }

    function release(bytes32 requestId) external {
        require(msg.sender == owner, "only the owner releases");
        PROVENA.releaseVoucher(requestId);
    }

    function prepaid(bytes32 requestId) external view returns (bool, uint64, uint256, uint32) {
        return PROVENA.prepaidVoucher(address(this), requestId);
    }
}
