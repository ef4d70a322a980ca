// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Wrapped OPEN
/// @notice OPEN bridged from Provena: minted by the bridge against OPEN locked on Provena, burnt by
/// the bridge when it goes back. 18 decimals, as OPEN. Only the bridge that deployed it mints and
/// burns, so its supply is always minted − burnt ≤ the OPEN locked on Provena.
contract WrappedOpen is ERC20 {
    /// The bridge: the only minter and burner.
    address public immutable bridge;

    error OnlyBridge();

    constructor() ERC20("Wrapped OPEN", "wOPEN") {
        bridge = msg.sender;
    }

    modifier onlyBridge() {
        if (msg.sender != bridge) revert OnlyBridge();
        _;
    }

    /// @notice Mints `amount` to `to` for a claimed transfer from Provena.
    function mint(address to, uint256 amount) external onlyBridge {
        _mint(to, amount);
    }

    /// @notice Burns `amount` of `from`'s tokens for a transfer back to Provena. The bridge calls
    /// it only with `from` = the caller of its own `burn`.
    function burn(address from, uint256 amount) external onlyBridge {
        _burn(from, amount);
    }
}
