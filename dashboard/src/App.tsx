// The shell: navigation, the sign-in gate when the server wants a key, and the view the hash names.
import { useEffect, useState } from "preact/hooks";
import { type AuthMode, apiKey, authMode, dropApiKey, onKeyDropped } from "./api";
import { ErrorBox, Heading } from "./components/bits";
import { href, type Route, useRoute } from "./router";
import { CreateEndpoint } from "./views/CreateEndpoint";
import { EndpointDetail } from "./views/EndpointDetail";
import { EndpointList } from "./views/EndpointList";
import { SignIn } from "./views/SignIn";
import { SimulationDetail } from "./views/SimulationDetail";
import { SimulationList } from "./views/SimulationList";

function View({ route }: { route: Route }) {
  switch (route.view) {
    case "endpoints":
      return <EndpointList />;
    case "create":
      return <CreateEndpoint />;
    case "endpoint":
      return <EndpointDetail key={route.id} id={route.id} />;
    case "simulations":
      return <SimulationList />;
    case "simulation":
      return <SimulationDetail key={route.id} id={route.id} />;
    case "missing":
      return (
        <section>
          <Heading>Not found</Heading>
          <p>
            Nothing lives at <code>#{route.path}</code>. <a href={href.endpoints}>Go to the endpoints</a>.
          </p>
        </section>
      );
  }
}

export function App() {
  const route = useRoute();
  const [mode, setMode] = useState<AuthMode | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [hasKey, setHasKey] = useState(() => apiKey() !== null);
  const [refusal, setRefusal] = useState<string | null>(null);
  useEffect(() => {
    authMode()
      .then(setMode)
      .catch((caught: unknown) => setProblem(caught instanceof Error ? caught.message : String(caught)));
    return onKeyDropped((reason) => {
      setHasKey(false);
      setRefusal(reason);
    });
  }, []);
  const section = route.view === "simulations" || route.view === "simulation" ? "history" : "endpoints";
  const signedOut = mode === "enabled" && !hasKey;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href.endpoints}>
          BudSim
        </a>
        <nav aria-label="Main">
          <a href={href.endpoints} aria-current={section === "endpoints" ? "page" : undefined}>
            Endpoints
          </a>
          <a href={href.simulations} aria-current={section === "history" ? "page" : undefined}>
            History
          </a>
          <a href="/graphql">GraphiQL</a>
        </nav>
        {mode === "enabled" && hasKey ? (
          <button type="button" class="link" onClick={() => dropApiKey(null)}>
            Sign out
          </button>
        ) : null}
        {mode === "disabled" ? (
          <span class="badge badge-warn" title="The server answers every request as admin without an API key.">
            auth off
          </span>
        ) : null}
      </header>
      <main id="main">
        {problem ? <ErrorBox>{problem}</ErrorBox> : null}
        {mode === null && !problem ? (
          <p class="muted" role="status">
            Connecting to BudSim…
          </p>
        ) : null}
        {signedOut ? (
          <SignIn
            reason={refusal}
            onSignedIn={() => {
              setHasKey(true);
              setRefusal(null);
            }}
          />
        ) : null}
        {mode !== null && !signedOut ? <View route={route} /> : null}
      </main>
    </>
  );
}
