// A page whose chain RPC answers through a fetch of the test's (a lying RPC, test/support/
// lying-outputs.ts): every POST to the RPC is made by `fetcher` in the test's process and its answer
// given to the page, as an RPC the user was pointed at would give it. Other requests pass on.
import type { Page } from "playwright-core";

/** The page's cross-origin reads of the RPC need the RPC's permission, as anvil gives it. */
const CORS = { "access-control-allow-origin": "*" };

export async function routeRpc(page: Page, rpcUrl: string, fetcher: typeof globalThis.fetch): Promise<void> {
  const origin = new URL(rpcUrl).origin;
  await page.route(
    (url) => url.origin === origin,
    async (route) => {
      const request = route.request();
      if (request.method() !== "POST") return route.continue();
      const answer = await fetcher(request.url(), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: request.postData() ?? "",
      });
      await route.fulfill({
        status: answer.status,
        contentType: "application/json",
        headers: CORS,
        body: await answer.text(),
      });
    },
  );
}
