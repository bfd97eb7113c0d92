// Bringing the host and its enclave back in step after a restart of either: a new enclave process is
// handed what the host kept sealed (restoreState); an enclave that kept its state (served in a VM, it
// outlived the dropped connection: src/host/enclave-serve.ts) refuses that (`restore_closed`, its own
// guard against being rolled back) and is asked to resend its whole checkpoint instead
// (`resumeSession`), which the host keeps, since answers lost in the drop may have carried pieces of
// it. Either way, the enclave says where it stands: the host reads the chain on from its cursor.
import type { GroupView } from "../boundary/call-results.js";
import { EnclaveCallError } from "../boundary/frames.js";
import type { EnclaveCalls } from "./enclave-process.js";
import type { SealedCopy, SealedStore } from "./sealed-store.js";

/** The enclave's view once restored or resumed; `resumed`: it had kept its state. */
export async function restoreOrResume(
  enclave: EnclaveCalls,
  sealed: SealedCopy | undefined,
  store: Pick<SealedStore, "keep" | "noteCursor">,
): Promise<{ view: GroupView; resumed: boolean }> {
  if (sealed) {
    try {
      return { view: await enclave.call("restoreState", sealed), resumed: false };
    } catch (error) {
      if (!(error instanceof EnclaveCallError && error.code === "restore_closed")) throw error;
    }
  } else {
    // Nothing kept: a new enclave holds nothing either (no cursor), one that kept its state does.
    const view = await enclave.call("groupStatus");
    if (view.cursor === undefined) return { view, resumed: false };
  }
  const { sealedState, journal, ...view } = await enclave.call("resumeSession");
  store.noteCursor(view.cursor && BigInt(view.cursor.block));
  store.keep({ sealedState, journal });
  return { view, resumed: true };
}
