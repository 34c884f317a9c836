// Hash routes, so that the server serves one index.html and needs no fallback for deep links.
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { view: "endpoints" }
  | { view: "create" }
  | { view: "endpoint"; id: string }
  | { view: "simulations" }
  | { view: "simulation"; id: string }
  | { view: "missing"; path: string };

export function parse(hash: string): Route {
  const path = hash.replace(/^#/, "") || "/endpoints";
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const [section, id, extra] = parts;
  if (extra === undefined) {
    if (section === "endpoints" && id === undefined) return { view: "endpoints" };
    if (section === "endpoints" && id === "new") return { view: "create" };
    if (section === "endpoints" && id !== undefined) return { view: "endpoint", id };
    if (section === "simulations" && id === undefined) return { view: "simulations" };
    if (section === "simulations" && id !== undefined) return { view: "simulation", id };
  }
  return { view: "missing", path };
}

export const href = {
  endpoints: "#/endpoints",
  create: "#/endpoints/new",
  endpoint: (id: string) => `#/endpoints/${encodeURIComponent(id)}`,
  simulations: "#/simulations",
  simulation: (id: string) => `#/simulations/${encodeURIComponent(id)}`,
};

export function go(to: string): void {
  location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const changed = (): void => setRoute(parse(location.hash));
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}
