// The app model as the package exports it (`anonify/app`): what an app's module imports to define
// its commands, queries and state (`defineApp`, the param schemas, `PersistentMap`). Browser-safe: a
// page may read an app's schemas. The harness its tests drive it with (`testApp`) is
// `anonify/app/testing` (test-app.ts), so an app's own module never loads it.
export {
  type App,
  AppRejection,
  type CommandContext,
  type CommandHandler,
  type CommandName,
  CommandOutput,
  type CommandParams,
  defineApp,
  MAX_PUBLIC_OUTPUT_BYTES,
  MAX_RANDOM_BYTES,
  type PrivateCommandHandler,
  type PublishedOutput,
  type PublishingCommandHandler,
  publish,
  type QueryContext,
  type QueryHandler,
  type QueryName,
  type QueryParams,
  type ResultOutput,
  UndeclaredPublication,
  withResult,
} from "./app.js";
export { CanonicalError, type JsonValue, type StateKey, type StateValue } from "./canonical.js";
export { type Embedded, embed, type Lens } from "./compose.js";
export type { CommandOutcome, QueryOutcome } from "./executor.js";
export { PersistentMap } from "./pmap.js";
export { SandboxViolation } from "./sandbox.js";
export * from "./schema.js";
