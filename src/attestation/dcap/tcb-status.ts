import { TcbStatus, type TcbStatusName, VerificationError } from "../verdict.js";

/** Intel's TCB status names map one to one onto ours, except "Simulated", which Intel never issues. */
export function parseTcbStatus(value: unknown, label: string): TcbStatusName {
  if (typeof value === "string" && value !== "Simulated" && Object.hasOwn(TcbStatus, value)) {
    return value as TcbStatusName;
  }
  throw new VerificationError(`${label}: unknown TCB status ${JSON.stringify(value)}`);
}
