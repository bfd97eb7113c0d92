// The node this page talks to. A page a node serves talks to that node (and the explorer watches
// any `?node=` as well); a page the user's own install serves (`anonify wallet serve`, which also
// serves the user's profile at /network.json) is no node: its node is the first `?node=URL`.
const NODE_PARAM = "node";

/** The `?node=` values that are http(s) URLs, as origins. */
export function nodesInQuery(search = location.search): string[] {
  const nodes: string[] = [];
  for (const value of new URLSearchParams(search).getAll(NODE_PARAM)) {
    try {
      const url = new URL(value);
      if (url.protocol === "http:" || url.protocol === "https:") nodes.push(url.origin);
    } catch {}
  }
  return nodes;
}

/** The page's node: its own origin when a node served it, else the first `?node=` (undefined without one). */
export const homeNode = (servedByInstall: boolean): string | undefined =>
  servedByInstall ? nodesInQuery()[0] : location.origin;
