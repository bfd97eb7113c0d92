import { Command } from "commander";
import { registerAppCommand } from "./app.js";
import { registerAttestCommand } from "./attest.js";
import { registerAttestationServiceCommand } from "./attestation-service.js";
import { registerCollateralCommand } from "./collateral.js";
import { registerUserCommands } from "./commands.js";
import { registerDeployCommand } from "./deploy.js";
import { registerDevnetCommand } from "./devnet.js";
import { registerEnclaveCommand } from "./enclave.js";
import { registerGroupCommand } from "./group.js";
import { registerNodeCommand } from "./node.js";
import { registerPolicyCommand } from "./policy.js";

const program = new Command()
  .name("anonify")
  .description(
    "Confidential state on a public ledger: attested enclaves, TreeKEM group keys, Ethereum ordering.",
  )
  .showHelpAfterError();

registerDevnetCommand(program);
registerDeployCommand(program);
registerPolicyCommand(program);
registerCollateralCommand(program);
registerNodeCommand(program);
registerEnclaveCommand(program);
registerGroupCommand(program);
registerUserCommands(program);
registerAttestationServiceCommand(program);
registerAttestCommand(program);
registerAppCommand(program);

await program.parseAsync(process.argv);
