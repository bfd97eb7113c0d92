// The same path, by the same code, on Anvil: both implementations are checked alike.
import { startAnvil } from "../../src/chain/anvil.js";
import { describeChainPath } from "./chain-path.js";

describeChainPath("Anvil", () => startAnvil());
