// GraphiQL from BudSim's own assets (no CDN): served at GET /graphql for browsers, queries over HTTP POST and
// subscriptions over graphql-ws on the same origin. A server that wants a key gets the dashboard's stored key (same
// tab) or the one typed into GraphiQL's Headers tab as {"Authorization": "Bearer <key>"}.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";
import { createElement } from "react";
import { createRoot } from "react-dom/client";

const key = sessionStorage.getItem("budsim.apiKey");
const headers: Record<string, string> = key ? { Authorization: `Bearer ${key}` } : {};
const scheme = location.protocol === "https:" ? "wss:" : "ws:";

const fetcher = createGraphiQLFetcher({
  url: `${location.origin}/graphql`,
  subscriptionUrl: `${scheme}//${location.host}/graphql`,
  headers,
  wsConnectionParams: headers,
});

const DEFAULT_QUERY = `# BudSim's GraphQL API. Ctrl-Enter runs the operation; the Docs tab lists every type.
query Endpoints {
  endpoints(first: 5) {
    totalCount
    edges { node { id name model { name } latestJob { status } } }
  }
}
`;

const root = document.getElementById("graphiql");
if (root) {
  createRoot(root).render(
    createElement(GraphiQL, {
      fetcher,
      defaultQuery: DEFAULT_QUERY,
      shouldPersistHeaders: false,
      ...(key ? { defaultHeaders: JSON.stringify(headers, null, 2) } : {}),
    }),
  );
}
