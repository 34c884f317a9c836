// How the page talks to BudSim: GraphQL over HTTP POST for queries and mutations, graphql-ws for subscriptions,
// both on this page's own origin, both carrying the API key when the server wants one.
import { type Client, createClient } from "graphql-ws";
import type { Operation } from "./operations";

const KEY_STORAGE = "budsim.apiKey";

/** What `/readyz` (public) says: whether the server wants a key at all. */
export type AuthMode = "enabled" | "disabled";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

type KeyListener = (reason: string | null) => void;
let keyListeners: KeyListener[] = [];

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function setApiKey(key: string): void {
  sessionStorage.setItem(KEY_STORAGE, key.trim());
  resetSocket();
}

/** Forget the key (sign out, or the server refused it) and tell the app, which then asks for another. */
export function dropApiKey(reason: string | null): void {
  sessionStorage.removeItem(KEY_STORAGE);
  resetSocket();
  for (const listener of keyListeners) listener(reason);
}

export function onKeyDropped(listener: KeyListener): () => void {
  keyListeners.push(listener);
  return () => {
    keyListeners = keyListeners.filter((l) => l !== listener);
  };
}

export async function authMode(): Promise<AuthMode> {
  const response = await fetch("/readyz", { headers: { Accept: "application/json" } });
  const body = (await response.json()) as { auth?: string; status?: string };
  if (body.auth !== "enabled" && body.auth !== "disabled") {
    throw new ApiError(`BudSim is not ready (${body.status ?? response.status}).`, "NOT_READY");
  }
  return body.auth;
}

function authorization(): Record<string, string> {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

interface GraphQLBody<Data> {
  data?: Data | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** Run a query or mutation; its text goes out exactly as in its .graphql file. */
export async function request<Data, Variables>(op: Operation<Data, Variables>, variables: Variables): Promise<Data> {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", ...authorization() },
    body: JSON.stringify({ query: op.text, operationName: op.name, variables }),
  });
  let body: GraphQLBody<Data>;
  try {
    body = (await response.json()) as GraphQLBody<Data>;
  } catch {
    throw new ApiError(`BudSim answered ${response.status} ${response.statusText}.`, "HTTP_ERROR");
  }
  const first = body.errors?.[0];
  if (response.status === 401) {
    dropApiKey(first?.message ?? "The server needs an API key.");
    throw new ApiError(first?.message ?? "Unauthenticated", "UNAUTHENTICATED");
  }
  if (first) throw new ApiError(first.message, first.extensions?.code ?? "ERROR");
  if (!response.ok || body.data == null) {
    throw new ApiError(`BudSim answered ${response.status} ${response.statusText}.`, "HTTP_ERROR");
  }
  return body.data;
}

let socket: Client | null = null;

function resetSocket(): void {
  void socket?.dispose();
  socket = null;
}

function client(): Client {
  if (socket === null) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = createClient({
      url: `${scheme}//${location.host}/graphql`,
      // Browsers cannot set headers on a websocket: the key rides in connection_init (budsim/web/auth.py).
      connectionParams: () => authorization(),
      lazy: true,
      retryAttempts: 3,
      on: {
        closed: (event) => {
          // 4403: the server refused connection_init's key.
          if ((event as CloseEvent | undefined)?.code === 4403) dropApiKey("The API key was refused.");
        },
      },
    });
  }
  return socket;
}

export interface Subscriber<Data> {
  next(data: Data): void;
  error(error: Error): void;
  complete(): void;
}

/** Subscribe over graphql-ws; returns the function that unsubscribes. */
export function subscribe<Data, Variables>(
  op: Operation<Data, Variables>,
  variables: Variables,
  subscriber: Subscriber<Data>,
): () => void {
  return client().subscribe<Data, Record<string, unknown>>(
    { query: op.text, operationName: op.name, variables: variables as Record<string, unknown> },
    {
      next: (result) => {
        const first = result.errors?.[0];
        if (first) subscriber.error(new ApiError(first.message, String(first.extensions?.["code"] ?? "ERROR")));
        else if (result.data) subscriber.next(result.data);
      },
      error: (error: unknown) => {
        const message =
          error instanceof Error
            ? error.message
            : Array.isArray(error)
              ? String((error[0] as { message?: string } | undefined)?.message ?? "subscription failed")
              : "The live connection closed.";
        subscriber.error(new ApiError(message, "SUBSCRIPTION"));
      },
      complete: () => subscriber.complete(),
    },
  );
}

/** The failure members of a result union, as one message (`field: message`). */
export function failureText(failure: { message: string; field?: string }): string {
  return failure.field ? `${failure.field}: ${failure.message}` : failure.message;
}
