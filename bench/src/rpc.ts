import type { ChildProcess } from "node:child_process";

let nextId = 1;

/** Sends `message` to a child over IPC and resolves with its `{type: "result", id}` answer. */
export function request<T>(child: ChildProcess, message: Record<string, unknown>): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    const onMessage = (answer: { type?: string; id?: number; result?: T; error?: string }) => {
      if (answer.type !== "result" || answer.id !== id) return;
      cleanup();
      if (answer.error !== undefined) reject(new Error(answer.error));
      else resolve(answer.result as T);
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`the child exited before answering ${String(message.type)}`));
    };
    const cleanup = () => {
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send({ ...message, id }, (err) => {
      if (!err) return;
      cleanup();
      reject(err);
    });
  });
}
