// The module the enclave's entry (main.ts) imports its app from. It names no file: the build
// resolves it to the chosen app's entry (src/build/app-bundle.ts), so a bundle holds that app alone.
declare module "anonify:app" {
  const app: import("../app/app.js").App;
  export default app;
}
