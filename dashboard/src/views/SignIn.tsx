// Asked for when the server requires an API key (`/readyz` says `"auth": "enabled"`) and none is stored.
import { useState } from "preact/hooks";
import { setApiKey } from "../api";
import { ErrorBox, Heading } from "../components/bits";
import { useTitle } from "../hooks";

export function SignIn({ reason, onSignedIn }: { reason: string | null; onSignedIn: () => void }) {
  useTitle("Sign in");
  const [key, setKey] = useState("");
  const submit = (event: Event): void => {
    event.preventDefault();
    if (!key.trim()) return;
    setApiKey(key);
    onSignedIn();
  };
  return (
    <section class="panel narrow">
      <Heading>Sign in</Heading>
      <p>
        This BudSim server requires an API key. Ask its operator for one (<code>budsim create-api-key</code>). The key
        is kept in this browser tab only (session storage) and sent as <code>Authorization: Bearer</code>.
      </p>
      {reason ? <ErrorBox>{reason}</ErrorBox> : null}
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          required
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
        />
        <div class="actions">
          <button type="submit">Sign in</button>
        </div>
      </form>
    </section>
  );
}
