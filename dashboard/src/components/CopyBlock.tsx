// A block of generated text (a command, a manifest) with a button that copies it.
import { useState } from "preact/hooks";

async function copy(text: string, fallback: HTMLTextAreaElement | null): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on a non-localhost host has no Clipboard API: copy through a selected hidden textarea.
  if (!fallback) throw new Error("nothing to copy from");
  fallback.value = text;
  fallback.select();
  if (!document.execCommand("copy")) throw new Error("copy refused");
}

export function CopyBlock({
  id,
  title,
  text,
  wrap = false,
}: {
  id: string;
  title: string;
  text: string;
  wrap?: boolean;
}) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  let hidden: HTMLTextAreaElement | null = null;
  const onCopy = async (): Promise<void> => {
    try {
      await copy(text, hidden);
      setState("copied");
    } catch {
      setState("failed");
    }
    setTimeout(() => setState("idle"), 2500);
  };
  return (
    <section class="copy-block" aria-labelledby={`${id}-title`}>
      <div class="copy-head">
        <h3 id={`${id}-title`}>{title}</h3>
        <button type="button" class="secondary" onClick={onCopy} aria-describedby={`${id}-title`}>
          {state === "copied" ? "Copied" : state === "failed" ? "Copy failed: select the text" : "Copy"}
        </button>
        <span class="visually-hidden" role="status">
          {state === "copied" ? `${title} copied to the clipboard` : ""}
        </span>
      </div>
      <pre id={id} class={wrap ? "wrap" : undefined} tabIndex={0} aria-label={title}>
        <code>{text}</code>
      </pre>
      <textarea
        class="visually-hidden"
        aria-hidden="true"
        tabIndex={-1}
        ref={(element) => {
          hidden = element;
        }}
      />
    </section>
  );
}
