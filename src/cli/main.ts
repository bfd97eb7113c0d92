import { Command } from "commander";
import { registerDevnetCommand } from "./devnet.js";

const program = new Command()
  .name("anonify")
  .description(
    "Confidential state on a public ledger: attested enclaves, TreeKEM group keys, Ethereum ordering.",
  )
  .showHelpAfterError();

registerDevnetCommand(program);

await program.parseAsync(process.argv);
