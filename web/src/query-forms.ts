// The wallet's queries with params: a form each, its answer shown under it (result-view.ts) with
// the chain point it reflects. Signed queries are asked with the account's key (`queryAt`); public
// ones (`public: true` in the app, an auction's result, a ballot's tally) are asked without one and
// checked as any answer is (`publicQuery`: signed by a trusted enclave, its point on chain).
import type { App } from "../../src/app/app.js";
import type { AnswerPosition, QueryResult } from "../../src/client/anonify-client.js";
import { fill, h } from "./dom.js";
import { schemaForm } from "./forms.js";
import { valueView } from "./result-view.js";

/** How the page asks a query of the app by name. */
export type Ask = (name: string, params: Record<string, unknown>) => Promise<QueryResult>;

/** Where an answer stands on the chain, for people. */
export function positionText(at: AnswerPosition): string {
  const behind = at.behind > 0n ? `, ${at.behind} events behind (${at.lagSeconds} s)` : "";
  return `event ${at.seq} (block ${at.block})${behind}`;
}

/** The app's queries split as the wallet shows them. */
export function queryKinds(app: App): { values: string[]; asked: string[]; published: string[] } {
  const names = Object.keys(app.queries);
  const isPublic = (name: string) => app.queries[name]!.public === true;
  const hasParams = (name: string) => Object.keys(app.queries[name]!.params.fields).length > 0;
  return {
    // Shown as values, refreshed at each batch (a balance).
    values: names.filter((name) => !isPublic(name) && !hasParams(name)),
    asked: names.filter((name) => !isPublic(name) && hasParams(name)),
    published: names.filter(isPublic),
  };
}

/** A form for each of `names`, asked by `ask`; `prefix` keeps the outputs' ids apart. */
export function queryForms(app: App, names: readonly string[], ask: Ask, prefix: string): HTMLFormElement[] {
  return names.map((name) => {
    const result = h("output", { id: `${prefix}-${name}-result`, "aria-live": "polite" });
    const form = schemaForm("query", name, app.queries[name]!.params, async (values) => {
      fill(result); // an earlier answer is not this one's
      const answer = await ask(name, values);
      fill(result, valueView(answer.result));
      result.title = positionText(answer.at);
    });
    form.append(h("p", {}, h("label", { for: result.id }, `${name} result`), " ", result));
    return form;
  });
}
