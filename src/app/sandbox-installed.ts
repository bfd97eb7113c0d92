// Imported for its effect, first, by the enclave's entry (src/enclave/main.ts): the handler sandbox's
// guards are in place before its app's module — and whatever that imports — is evaluated, so a
// reference to `Math.random` or `Date.now` the app or a library keeps from load time is guarded too.
import { installSandbox } from "./sandbox.js";

installSandbox();
