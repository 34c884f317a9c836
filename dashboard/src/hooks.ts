// Loading a query into a view: its data, its error, and a way to load it again.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { request } from "./api";
import type { Operation } from "./operations";

export interface Loaded<Data> {
  data: Data | null;
  error: string | null;
  loading: boolean;
  reload: () => Promise<void>;
}

export function useQuery<Data, Variables>(op: Operation<Data, Variables>, variables: Variables): Loaded<Data> {
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const key = JSON.stringify(variables);
  const latest = useRef(0);
  const reload = useCallback(async () => {
    const ticket = ++latest.current;
    setLoading(true);
    try {
      const answer = await request(op, JSON.parse(key) as Variables);
      if (ticket === latest.current) {
        setData(answer);
        setError(null);
      }
    } catch (caught) {
      if (ticket === latest.current) setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      if (ticket === latest.current) setLoading(false);
    }
  }, [op, key]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, loading, reload };
}

/** Sets the document title for a view. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · BudSim`;
  }, [title]);
}
