// #/endpoints: every endpoint, newest first, a page at a time.
import { useState } from "preact/hooks";
import { Badge, ErrorBox, Heading, Loading, Pager, StatusBadge } from "../components/bits";
import { when } from "../format";
import { useQuery, useTitle } from "../hooks";
import { ops } from "../operations";
import { href } from "../router";

const PAGE = 20;

export function EndpointList() {
  useTitle("Endpoints");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors.at(-1) ?? null;
  const { data, error, loading } = useQuery(ops.EndpointList, { first: PAGE, after });
  const page = data?.endpoints;
  return (
    <section>
      <div class="title-row">
        <Heading>Endpoints</Heading>
        <a class="button" href={href.create}>
          Create Endpoint
        </a>
      </div>
      <p class="muted">
        An endpoint is a named plan for serving one model: the hardware it may use, the method and the targets. Optimize
        it, review the recommendations, deploy the one you choose.
      </p>
      {error ? <ErrorBox>{error}</ErrorBox> : null}
      {loading && !page ? <Loading what="endpoints" /> : null}
      {page && page.totalCount === 0 ? (
        <div class="panel empty">
          <p>No endpoints yet.</p>
          <a class="button" href={href.create}>
            Create your first endpoint
          </a>
        </div>
      ) : null}
      {page && page.totalCount > 0 ? (
        <>
          <div class="table-wrap" tabIndex={0} aria-label="Endpoints table">
            <table class="cards">
              <caption class="visually-hidden">Endpoints, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Model</th>
                  <th scope="col">Hardware</th>
                  <th scope="col">Method</th>
                  <th scope="col">Latest job</th>
                  <th scope="col">Deployed</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {page.edges.map(({ node }) => (
                  <tr key={node.id}>
                    <th scope="row" class="nowrap">
                      <a href={href.endpoint(node.id)}>{node.name}</a>
                      {node.stale ? (
                        <>
                          {" "}
                          <Badge tone="warn">stale</Badge>
                        </>
                      ) : null}
                    </th>
                    <td data-label="Model">{node.model.name}</td>
                    <td data-label="Hardware">{node.hardwareProfiles.map((p) => p.name).join(", ")}</td>
                    <td data-label="Method">{node.method}</td>
                    <td data-label="Latest job">
                      {node.latestJob ? <StatusBadge status={node.latestJob.status} /> : "not optimized"}
                    </td>
                    <td data-label="Deployed" class="nowrap">
                      {node.deployment ? when(node.deployment.createdAt) : "no"}
                    </td>
                    <td data-label="Created" class="nowrap">
                      {when(node.createdAt)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            label="Endpoint pages"
            summary={
              <>
                {page.totalCount} endpoint{page.totalCount === 1 ? "" : "s"} · page {cursors.length}
              </>
            }
            cursors={cursors}
            setCursors={setCursors}
            hasNextPage={page.pageInfo.hasNextPage}
            endCursor={page.pageInfo.endCursor}
          />
        </>
      ) : null}
    </section>
  );
}
