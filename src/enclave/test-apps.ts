// For tests only (nothing in the enclave bundle imports it): the erc20 app with its transfer changed
// after it ran, under the same name, as a test plays an enclave whose app computes otherwise or
// publishes what the shipped one does not.

import type { Erc20State } from "../../apps/erc20/index.js";
import { APPS } from "../../apps/index.js";
import { CommandOutput } from "../app/app.js";

type Erc20 = typeof APPS.erc20;
type TransferParams = Parameters<Erc20["commands"]["transfer"]["run"]>[2];

/** The erc20 app whose transfer's new state goes through `after` (with the transfer's params). */
export function erc20WithTransfer(
  after: (state: Erc20State, params: TransferParams) => Erc20State | CommandOutput<Erc20State>,
): Erc20 {
  const erc20 = APPS.erc20;
  const transfer = erc20.commands.transfer;
  return {
    ...erc20,
    commands: {
      ...erc20.commands,
      transfer: {
        params: transfer.params,
        publishes: true, // what `after` returns may publish
        run: (state, context, params) => {
          const moved = transfer.run(state, context, params);
          return after(moved instanceof CommandOutput ? moved.state : moved, params);
        },
      },
    },
  };
}
