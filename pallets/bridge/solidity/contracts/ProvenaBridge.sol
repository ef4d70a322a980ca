// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {WrappedOpen} from "./WrappedOpen.sol";

/// @title The Provena bridge's Ethereum side
/// @notice Settles Provena's bridge epochs on Ethereum and bridges OPEN both ways, trusting an
/// M-of-N committee of Ethereum keys that Provena's governance sets (`pallet-bridge`).
///
/// - A bridge epoch's root is accepted with signatures of at least `threshold` distinct members
///   of the current committee over `rootDigest` (`submitRoot`). Each root is set once.
/// - A transfer out of Provena is a leaf of an epoch's tree; anyone claims it for its recipient
///   with a Merkle proof (`claim`), once per nonce: wrapped OPEN is minted.
/// - A settled attribution epoch is a leaf too; once proven (`settleAttribution`) its receipts
///   root is stored and `verifyReceipt` checks a receipt's inclusion proof against it.
/// - `burn` burns wrapped OPEN for a recipient on Provena with the next burn nonce; the
///   committee signs it there and Provena releases the OPEN, nonces in order. Burns below
///   `minBurn` (Provena's least transfer) are refused, so every nonce can be paid out.
/// - The committee hands over to the next one with a rotation signed by itself (`rotate`).
/// - The guardian (not a signer) pauses and resumes everything but views and rotations.
///
/// Every digest names both chains, this contract and the committee, byte for byte as
/// `pallet_bridge::message` builds it, so a signature counts for one purpose on one deployment by
/// one committee. Trees are Keccak-256 Merkle trees of `provena_primitives::merkle`: leaves are
/// hashed, pairs hashed in order (never sorted), the last node of an odd level promoted.
contract ProvenaBridge {
    /// Leaf tag of a transfer out of Provena: `uint8(1) ‖ uint64 nonce ‖ address ‖ uint256`.
    uint8 internal constant LEAF_TRANSFER = 1;
    /// Leaf tag of a settled attribution epoch: `uint8(2) ‖ uint64 epoch ‖ bytes32 ‖ uint32`.
    uint8 internal constant LEAF_ATTRIBUTION = 2;
    /// The largest committee (members are tracked in a 256-bit set while checking signatures).
    uint256 public constant MAX_MEMBERS = 64;

    /// Provena's chain id (its EVM chain id), part of every digest.
    uint64 public immutable provenaChainId;
    /// The least burn: Provena's least transfer.
    uint256 public immutable minBurn;
    /// Wrapped OPEN, deployed by and owned by this contract.
    WrappedOpen public immutable token;
    /// Pauses and resumes the bridge; holds no signing power.
    address public immutable guardian;

    /// The current committee's id (Provena's), its members and threshold.
    uint32 public committeeId;
    uint32 public threshold;
    address[] internal members;
    /// Current members' 1-based positions in `members` (0: not a member).
    mapping(address => uint256) internal memberSlot;

    /// Accepted bridge epoch roots.
    mapping(uint64 => bytes32) public epochRoots;
    /// Transfers out of Provena already claimed, by nonce.
    mapping(uint64 => bool) public claimed;
    /// Settled attribution epochs: receipts root and receipt count.
    mapping(uint64 => bytes32) public attributionRoots;
    mapping(uint64 => uint32) public attributionReceipts;
    /// The nonce the next burn gets (Provena takes them in order).
    uint64 public nextBurnNonce;
    /// Whether the guardian paused the bridge.
    bool public paused;

    event RootSubmitted(uint64 indexed epoch, bytes32 root, uint32 committee);
    event Claimed(uint64 indexed nonce, uint64 indexed epoch, address indexed recipient, uint256 amount);
    event AttributionSettled(uint64 indexed epoch, bytes32 root, uint32 receipts);
    event Burned(uint64 indexed nonce, address indexed sender, bytes32 recipient, uint256 amount);
    event CommitteeRotated(uint32 indexed id, address[] members, uint32 threshold);
    event PausedSet(bool paused);

    error Paused();
    error OnlyGuardian();
    error BadCommittee();
    error RotatedOut(uint32 current);
    error AlreadySubmitted();
    error ZeroRoot();
    error NotEnoughSignatures();
    error UnknownEpoch();
    error InvalidProof();
    error AlreadyClaimed();
    error AlreadySettled();
    error BelowMinimum();
    error UnexpectedCommittee();

    constructor(
        uint64 provenaChainId_,
        uint256 minBurn_,
        address guardian_,
        uint32 committeeId_,
        address[] memory members_,
        uint32 threshold_
    ) {
        if (guardian_ == address(0) || minBurn_ == 0) revert BadCommittee();
        provenaChainId = provenaChainId_;
        minBurn = minBurn_;
        guardian = guardian_;
        token = new WrappedOpen();
        _setCommittee(committeeId_, members_, threshold_);
    }

    modifier running() {
        if (paused) revert Paused();
        _;
    }

    // ----- digests (as `pallet_bridge::message::Domain`) -----

    /// @notice The digest the committee signs to settle `root` as bridge epoch `epoch`.
    function rootDigest(uint32 committee, uint64 epoch, bytes32 root) public view returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                "provena-bridge/root", provenaChainId, uint64(block.chainid), address(this), committee, epoch, root
            )
        );
    }

    /// @notice The digest committee `oldId` signs to hand over to committee `newId`.
    function rotationDigest(uint32 oldId, uint32 newId, uint32 newThreshold, address[] memory newMembers)
        public
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encodePacked(
                "provena-bridge/rotate",
                provenaChainId,
                uint64(block.chainid),
                address(this),
                oldId,
                newId,
                newThreshold,
                newMembers
            )
        );
    }

    // ----- committee -----

    /// @notice The current committee's members.
    function committee() external view returns (address[] memory) {
        return members;
    }

    /// @notice Hands over to committee `newId` (the current id + 1), given the current
    /// committee's signatures over `rotationDigest`.
    /// Allowed while paused: handing over from a compromised committee is what a pause is for.
    function rotate(uint32 newId, address[] calldata newMembers, uint32 newThreshold, bytes[] calldata signatures)
        external
    {
        if (newId != committeeId + 1) revert UnexpectedCommittee();
        _checkSignatures(rotationDigest(committeeId, newId, newThreshold, newMembers), signatures);
        for (uint256 i = 0; i < members.length; i++) {
            delete memberSlot[members[i]];
        }
        _setCommittee(newId, newMembers, newThreshold);
    }

    function _setCommittee(uint32 id, address[] memory newMembers, uint32 newThreshold) internal {
        uint256 n = newMembers.length;
        // A majority, as on Provena: two disjoint quorums cannot both sign.
        if (n == 0 || n > MAX_MEMBERS || newThreshold > n || uint256(newThreshold) * 2 <= n) revert BadCommittee();
        delete members;
        for (uint256 i = 0; i < n; i++) {
            address m = newMembers[i];
            if (m == address(0) || memberSlot[m] != 0) revert BadCommittee();
            members.push(m);
            memberSlot[m] = i + 1;
        }
        committeeId = id;
        threshold = newThreshold;
        emit CommitteeRotated(id, newMembers, newThreshold);
    }

    /// Reverts unless at least `threshold` distinct current members signed `digest`. Signatures
    /// by others, repeated signers and malformed or high-s signatures are not counted.
    function _checkSignatures(bytes32 digest, bytes[] calldata signatures) internal view {
        uint256 seen;
        uint256 count;
        for (uint256 i = 0; i < signatures.length && count < threshold; i++) {
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signatures[i]);
            if (err != ECDSA.RecoverError.NoError) continue;
            uint256 slot = memberSlot[signer];
            if (slot == 0) continue;
            uint256 bit = uint256(1) << (slot - 1);
            if (seen & bit != 0) continue;
            seen |= bit;
            count++;
        }
        if (count < threshold) revert NotEnoughSignatures();
    }

    // ----- Provena → Ethereum -----

    /// @notice Accepts bridge epoch `epoch`'s root, signed by committee `committee` (which must be
    /// the current one: a rotated-out committee's signatures are refused).
    function submitRoot(uint64 epoch, bytes32 root, uint32 committee_, bytes[] calldata signatures)
        external
        running
    {
        if (committee_ != committeeId) revert RotatedOut(committeeId);
        if (root == bytes32(0)) revert ZeroRoot();
        if (epochRoots[epoch] != bytes32(0)) revert AlreadySubmitted();
        _checkSignatures(rootDigest(committee_, epoch, root), signatures);
        epochRoots[epoch] = root;
        emit RootSubmitted(epoch, root, committee_);
    }

    /// @notice Mints the wrapped OPEN of transfer `nonce` to its recipient, given its leaf's
    /// proof in epoch `epoch` (leaf `index` of `count`). Anyone may claim; the tokens go to the
    /// recipient named in the leaf. Each nonce once.
    function claim(
        uint64 epoch,
        uint64 nonce,
        address recipient,
        uint256 amount,
        bytes32[] calldata proof,
        uint32 index,
        uint32 count
    ) external running {
        if (claimed[nonce]) revert AlreadyClaimed();
        bytes32 root = epochRoots[epoch];
        if (root == bytes32(0)) revert UnknownEpoch();
        bytes memory leaf = abi.encodePacked(LEAF_TRANSFER, nonce, recipient, amount);
        if (!verify(root, keccak256(leaf), proof, index, count)) revert InvalidProof();
        claimed[nonce] = true;
        token.mint(recipient, amount);
        emit Claimed(nonce, epoch, recipient, amount);
    }

    /// @notice Stores attribution epoch `attributionEpoch`'s receipts root, given its leaf's proof
    /// in bridge epoch `epoch`.
    function settleAttribution(
        uint64 epoch,
        uint64 attributionEpoch,
        bytes32 receiptsRoot,
        uint32 receipts,
        bytes32[] calldata proof,
        uint32 index,
        uint32 count
    ) external running {
        if (attributionRoots[attributionEpoch] != bytes32(0)) revert AlreadySettled();
        bytes32 root = epochRoots[epoch];
        if (root == bytes32(0)) revert UnknownEpoch();
        bytes memory leaf = abi.encodePacked(LEAF_ATTRIBUTION, attributionEpoch, receiptsRoot, receipts);
        if (!verify(root, keccak256(leaf), proof, index, count)) revert InvalidProof();
        attributionRoots[attributionEpoch] = receiptsRoot;
        attributionReceipts[attributionEpoch] = receipts;
        emit AttributionSettled(attributionEpoch, receiptsRoot, receipts);
    }

    /// @notice Whether the receipt with leaf hash `receiptLeaf` (Provena's `receipt_proof` leaf)
    /// is leaf `index` of `count` of settled attribution epoch `attributionEpoch`.
    function verifyReceipt(
        uint64 attributionEpoch,
        bytes32 receiptLeaf,
        bytes32[] calldata proof,
        uint32 index,
        uint32 count
    ) external view returns (bool) {
        bytes32 root = attributionRoots[attributionEpoch];
        if (root == bytes32(0)) return false;
        return verify(root, keccak256(abi.encodePacked(receiptLeaf)), proof, index, count);
    }

    // ----- Ethereum → Provena -----

    /// @notice Burns `amount` of the caller's wrapped OPEN for `recipient` (a Provena account id)
    /// with the next burn nonce; the committee releases the OPEN on Provena.
    function burn(bytes32 recipient, uint256 amount) external running {
        if (amount < minBurn) revert BelowMinimum();
        uint64 nonce = nextBurnNonce++;
        token.burn(msg.sender, amount);
        emit Burned(nonce, msg.sender, recipient, amount);
    }

    // ----- guardian -----

    /// @notice Pauses or resumes the bridge.
    function setPaused(bool paused_) external {
        if (msg.sender != guardian) revert OnlyGuardian();
        paused = paused_;
        emit PausedSet(paused_);
    }

    // ----- Merkle proofs -----

    /// @notice Whether `leafHash` is leaf `index` of a `count`-leaf tree with root `root`, given
    /// the siblings from the leaf level up (none on a level where the node is promoted).
    function verify(bytes32 root, bytes32 leafHash, bytes32[] calldata proof, uint32 index, uint32 count)
        public
        pure
        returns (bool)
    {
        if (index >= count) return false;
        bytes32 node = leafHash;
        uint256 used;
        uint256 position = index;
        uint256 width = count;
        while (width > 1) {
            if (position % 2 == 1) {
                if (used == proof.length) return false;
                node = keccak256(abi.encodePacked(proof[used++], node));
            } else if (position + 1 < width) {
                if (used == proof.length) return false;
                node = keccak256(abi.encodePacked(node, proof[used++]));
            }
            position /= 2;
            width = (width + 1) / 2;
        }
        return used == proof.length && node == root;
    }
}
