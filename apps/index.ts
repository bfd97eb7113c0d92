// The apps an enclave bundle can run; the build config names one, and it is part of the measurement.
import type { App } from "../src/app/app.js";
import type { StateValue } from "../src/app/canonical.js";
import erc20 from "./erc20/index.js";

export const APPS: Record<string, App<StateValue>> = { erc20 };
