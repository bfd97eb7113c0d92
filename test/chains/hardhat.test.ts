// The whole path on Hardhat's network (EDR), an Ethereum implementation independent of Anvil.

import { startHardhat } from "../support/hardhat.js";
import { describeChainPath } from "./chain-path.js";

describeChainPath("Hardhat", () => startHardhat());
